"""Front-desk tests (a package: its module names may repeat those of other test folders)."""
