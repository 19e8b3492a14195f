"""emulator/kms."""
