"""emulator/ram."""
