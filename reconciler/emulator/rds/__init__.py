"""emulator/rds."""
