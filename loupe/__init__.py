"""The installed entry point: the `loupe` command (loupe/cli.py). In a wheel this package also
holds the repository's templates/ and static/ folders as data (docs/install.md)."""
