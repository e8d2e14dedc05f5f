# The operator's CLI reads the server's configuration: the env file the systemd unit reads
# (here through BO_CONFIG_FILE); a hand-run rebuild that would rewrite every URL of the
# live collection is refused unless asked for (--new-url); a command missing its
# arguments says its usage and creates no database.
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
DB=$BO_DATA_DIR/backoffice.db
COLL=$BO_DATA_DIR/storage/collection.json

# a mistyped command: usage, exit 2, and no ./var/backoffice.db made on the way
set +e
"$BO_BIN" user add --name Someone 2>"$T/err"; code=$?
set -e
[ "$code" = 2 ] || fail "user add without --email exited $code"
grep -q '^usage: backoffice user add --name N --email E' "$T/err" || fail "no usage: $(cat "$T/err")"
[ ! -e "$DB" ] || fail "a command missing its arguments created $DB"

# the server's settings in its env file; the CLI reads them without being told again
printf '# as in /etc/backoffice/backoffice.env\nBO_PUBLIC_URL="https://bo.example.org"\n' >"$T/bo.env"
export BO_CONFIG_FILE=$T/bo.env
"$BO_BIN" check-config | grep -q '^public_url *= https://bo.example.org$' || fail "check-config does not show the file's public_url"
"$BO_BIN" migrate >/dev/null
"$BO_BIN" user add --name Ada --email ada@example.org >/dev/null
"$BO_BIN" rebuild --reason first >/dev/null
jq -e '.config.url_root == "https://bo.example.org/files/"' "$COLL" >/dev/null || fail "url_root $(jq .config.url_root "$COLL")"
sha_before=$(sha256sum "$COLL" | cut -d' ' -f1)

# run by hand without the server's configuration: refused, naming both URLs; nothing changed
set +e
BO_CONFIG_FILE= "$BO_BIN" rebuild 2>"$T/err"; code=$?
set -e
[ "$code" != 0 ] || fail "a rebuild that rewrites every URL was not refused"
grep -q 'https://bo.example.org/files/' "$T/err" && grep -q '127.0.0.1' "$T/err" && grep -q -- '--new-url' "$T/err" ||
  fail "the refusal does not name both URLs and the way out: $(cat "$T/err")"
[ "$(sha256sum "$COLL" | cut -d' ' -f1)" = "$sha_before" ] || fail "the refused rebuild changed collection.json"

# on purpose: the URLs move
BO_CONFIG_FILE= BO_PUBLIC_URL=https://new.example.org "$BO_BIN" rebuild --new-url --reason moved >/dev/null
jq -e '.config.url_root == "https://new.example.org/files/"' "$COLL" >/dev/null || fail "--new-url did not rebuild"

# a misspelt key in the env file is an error with its line, not a silent default
printf 'BO_PUBLIC_URL=https://bo.example.org\nBO_PUBLIK_URL=https://typo.example.org\n' >"$T/typo.env"
set +e
BO_CONFIG_FILE=$T/typo.env "$BO_BIN" check-config >/dev/null 2>"$T/err"; code=$?
set -e
[ "$code" = 2 ] && grep -q 'typo.env:2: unknown option BO_PUBLIK_URL' "$T/err" || fail "a misspelt key: $code $(cat "$T/err")"

# a flag without a value may come before the positional argument
BO_CONFIG_FILE= "$BO_BIN" user add --name Wendy --email wendy@example.org >/dev/null
for args in "--worker wendy@example.org" "wendy@example.org --worker" "--partner ilastik wendy@example.org"; do
  # shellcheck disable=SC2086
  tok=$(BO_CONFIG_FILE= "$BO_BIN" token create $args) || fail "token create $args failed"
  [[ "$tok" == bo_* ]] || fail "token create $args printed $tok"
done
[ "$(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT group_concat(scope, ',') FROM (SELECT scope FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.email = 'wendy@example.org' ORDER BY t.id)")" = "worker,worker,partner:ilastik" ] ||
  fail "token scopes: $(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT scope FROM tokens")"
