/**
 * The few shell scripts the SSH layer runs on hosts. Fixed text; paths and values arrive as
 * positional arguments ("$1"...), never pasted into the script.
 */

/** Exit status of uploadScript when the bytes on the host do not have the expected SHA-256. */
export const UPLOAD_CHECKSUM_EXIT = 97;

/** Prints `sha256 mode user:group` of a regular file, nothing when it is missing. */
export const fileSha256Script = `[ -f "$1" ] || exit 0
s=$(sha256sum < "$1") || exit 1
printf '%s %s\\n' "\${s%% *}" "$(stat -c '%a %U:%G' -- "$1")"`;

export const readFileScript = `exec cat -- "$1"`;

/** chmod/chown only ($1 path, $2 mode, $3 owner or empty). */
export const setAttributesScript = `set -e
chmod -- "$2" "$1"
[ -z "$3" ] || chown -- "$3" "$1"`;

/**
 * stdin → a temp file beside $1 (created 0600, so a secret is never readable on the way),
 * checked against $2 (sha256), given mode $3 and owner $4, then renamed over $1.
 */
export const uploadScript = `set -e
dir=$(dirname -- "$1")
tmp="$dir/.$(basename -- "$1").infra-upload.$$"
mkdir -p -- "$dir"
trap 'rm -f -- "$tmp"' EXIT
(umask 077 && cat > "$tmp")
got=$(sha256sum < "$tmp")
got=\${got%% *}
if [ "$got" != "$2" ]; then echo "checksum $got" >&2; exit ${UPLOAD_CHECKSUM_EXIT}; fi
chmod -- "$3" "$tmp"
[ -z "$4" ] || chown -- "$4" "$tmp"
mv -f -- "$tmp" "$1"
trap - EXIT`;
