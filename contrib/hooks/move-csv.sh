#!/bin/sh
# A ferryd command hook: move each uploaded CSV into a processing folder.
#
#   [[hooks]]
#   name = "csv-to-processing"
#   events = ["upload"]
#   paths = ["*.csv"]
#   command = ["/usr/local/bin/move-csv.sh", "/srv/processing"]
#
# ferryd runs it after the upload is committed, with the event as JSON on
# standard input and as FERRY_* variables. Exit 0 when done; anything else
# and ferryd tries again later (with backoff, for up to hook-max-age), so
# the script must be safe to run twice for one event: a second run finds
# the file gone and succeeds.
set -eu
dest=${1:?usage: move-csv.sh PROCESSING_DIR}
[ -n "${FERRY_FS_PATH:-}" ] || { echo "no FERRY_FS_PATH: not local storage" >&2; exit 1; }
mkdir -p "$dest"
# Keep the event id in the name: two uploads of report.csv stay two files.
target="$dest/${FERRY_EVENT_ID}-$(basename "$FERRY_FS_PATH")"
if [ -e "$FERRY_FS_PATH" ]; then
    mv "$FERRY_FS_PATH" "$target"
fi
echo "moved $FERRY_PATH to $target"
