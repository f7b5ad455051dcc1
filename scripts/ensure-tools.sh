#!/usr/bin/env bash
# Installs the Debian tools the tests and the bench use when they are missing: ExifTool (the
# independent judge of what an output holds), Pillow (the case checks and the pixel judge),
# ImageMagick and webp (bench inputs and fixtures), bubblewrap (the pixel workers' sandbox,
# which the tests require). Needs root for apt-get; without root it only reports what is
# missing.
set -euo pipefail
missing=()
command -v exiftool >/dev/null 2>&1 || missing+=(libimage-exiftool-perl)
/usr/bin/python3 -c 'import PIL' >/dev/null 2>&1 || missing+=(python3-pil)
{ command -v convert >/dev/null 2>&1 && convert -version 2>/dev/null | grep -q ImageMagick; } || missing+=(imagemagick)
command -v cwebp >/dev/null 2>&1 || missing+=(webp)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run as root or install them)" >&2
  exit 1
fi
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
