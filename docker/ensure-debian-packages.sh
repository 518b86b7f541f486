#!/usr/bin/env bash
# Install the Debian packages given as arguments if any is missing (fonts for PDFs, chromium and
# poppler for the browser and PDF tests). Needs root or sudo; says so and carries on otherwise.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "warning: missing Debian packages ${missing[*]} and no root/sudo to install them" >&2; exit 0; fi
echo "Installing Debian packages: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
