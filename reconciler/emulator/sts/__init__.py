"""STS 2015-04-01: AssumeRole and GetCallerIdentity (docs/emulator.md, "Accounts and STS")."""
