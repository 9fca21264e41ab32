"""Handler-level tests of the console (a package, so its conftest and modules do not shadow those of tests/)."""
