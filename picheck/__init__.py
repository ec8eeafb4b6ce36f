"""`make pi-check`: run the device path on an emulated Raspberry Pi OS (Debian 12 arm64)."""
