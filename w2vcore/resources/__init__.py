"""Data files that ship with w2vcore (see README.md here for what they hold, their licences and how to rebuild them)."""
