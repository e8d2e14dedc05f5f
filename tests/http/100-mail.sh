# Mail: a draft reaching `awaiting review` mails its uploader (verdict, status link) and
# every reviewer/admin (review link) through a real SMTP server on loopback; with the
# SMTP server down the draft still moves on, the mail job fails and is retried, and once
# the server is back the mail arrives exactly once. Chat messages are mailed to the other
# side (uploader <-> the reviewers taking part). Header injection is refused.
. "$BO_SOURCE_DIR/tests/lib/common.sh"
. "$BO_SOURCE_DIR/tests/lib/smtp.sh"
setup_env
MB=$T/maildir
smtp_start "$MB"
export BO_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT BO_SMTP_TIMEOUT=5
export BO_MAIL_FROM="Zoo Test <zoo@example.org>"
start_server
UP=$(new_user up@example.org uploader)
REV=$(new_user rev@example.org reviewer)
new_user gone@example.org reviewer >/dev/null
"$BO_BIN" user disable gone@example.org >/dev/null

upload() { req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$1"; }
# the delivered messages to TO whose Subject line matches the regex SUBJ
mails_to() { grep -lE -- "^Subject: $2" "$MB"/new/* 2>/dev/null | xargs -r grep -l -- "^To: $1" || true; }
wait_mail_to() { # TO SUBJ: waits up to 30 s, prints the one file
  local f=
  for _ in $(seq 1 300); do
    f=$(mails_to "$1" "$2")
    [ -n "$f" ] && break
    sleep 0.1
  done
  [ -n "$f" ] || { grep -h '^\(To\|Subject\):' "$MB"/new/* 2>/dev/null; fail "no mail to $1 with subject /$2/"; }
  [ "$(echo "$f" | wc -l)" = 1 ] || fail "more than one mail to $1 with subject /$2/: $f"
  echo "$f"
}
mail_jobs() { "$BO_BIN" jobs list >"$T/jobs.json"; jq -c --arg to "$1" '[.[] | select(.kind == "mail" and .subject == $to)]' "$T/jobs.json"; }

mkdir -p "$T/ds"; cp -r "$BO_SOURCE_DIR/tests/fixtures/packages/dataset-minimal/." "$T/ds/"; chmod -R u+w "$T/ds"
zip_dir "$T/ds" "$T/ds.zip"

# --- SMTP up: the uploader's and the reviewers' mails arrive
upload "$T/ds.zip"; expect_status 202
DS=$(jqb .id)
wait_state "$DS" "awaiting review"
F=$(wait_mail_to up@example.org "\[bioimage\.io\] $DS: awaiting review")
grep -q "^From: Zoo Test <zoo@example.org>" "$F" || fail "From header: $(grep '^From:' "$F")"
grep -q "$BASE/status/$DS" "$F" || { cat "$F"; fail "the uploader's mail lacks the status link"; }
grep -q "static validation passed" "$F" || { cat "$F"; fail "the uploader's mail lacks the verdict"; }
grep -q "^Content-Type: text/plain; charset=utf-8" "$F" || fail "Content-Type"
grep -q "^Message-ID: <" "$F" || fail "no Message-ID"
R=$(wait_mail_to rev@example.org "\[bioimage\.io\] $DS: new dataset awaiting review")
grep -q "$BASE/review" "$R" || { cat "$R"; fail "the reviewer's mail lacks the review link"; }
grep -q "Minimal test dataset" "$R" || { cat "$R"; fail "the reviewer's mail lacks the name"; }
wait_mail_to admin@localhost "\[bioimage\.io\] $DS: new dataset awaiting review" >/dev/null
[ -z "$(mails_to gone@example.org '.*')" ] || fail "a disabled reviewer got mail"
# sent mails are done jobs
for _ in $(seq 1 50); do
  [ "$(mail_jobs up@example.org | jq '[.[] | select(.state == "done")] | length')" = 1 ] && break
  sleep 0.1
done
[ "$(mail_jobs up@example.org | jq '[.[] | select(.state == "done")] | length')" = 1 ] || fail "mail job not done: $(mail_jobs up@example.org)"

# --- chat: the uploader's message goes to every reviewer while none took part; a reviewer's
# answer goes to the uploader; then the uploader's next one only to the reviewer taking part
chat() { req POST "/api/v1/resources/$DS/draft/chat" -H "$(auth "$1")" -H 'Content-Type: application/json' -d "$2"; expect_status 201; }
chat "$UP" '{"text":"Is the license right?\nSubject: injected"}'
C1=$(wait_mail_to rev@example.org "\[bioimage\.io\] $DS: new chat message")
wait_mail_to admin@localhost "\[bioimage\.io\] $DS: new chat message" >/dev/null
grep -q "^> Is the license right?" "$C1" || { cat "$C1"; fail "the chat mail does not quote the message"; }
grep -q "^> Subject: injected" "$C1" || { cat "$C1"; fail "the second line is not quoted in the body"; }
[ "$(grep -c '^Subject:' "$C1")" = 1 ] || fail "the message's text reached the mail header"
grep -q "$BASE/review#$DS" "$C1" || { cat "$C1"; fail "the reviewer's chat mail lacks the review link"; }
[ -z "$(mails_to up@example.org "\[bioimage\.io\] $DS: new chat message")" ] || fail "the author got a copy of their message"
chat "$REV" '{"text":"Yes, CC-BY-4.0 is fine."}'
C2=$(wait_mail_to up@example.org "\[bioimage\.io\] $DS: new chat message")
grep -q "^> Yes, CC-BY-4.0 is fine." "$C2" || { cat "$C2"; fail "the uploader's chat mail does not quote the reviewer"; }
grep -q "$BASE/status/$DS" "$C2" || { cat "$C2"; fail "the uploader's chat mail lacks the status link"; }
chat "$UP" '{"text":"Thanks!"}'
for _ in $(seq 1 300); do
  [ "$(mails_to rev@example.org "\[bioimage\.io\] $DS: new chat message" | wc -l)" = 2 ] && break
  sleep 0.1
done
[ "$(mails_to rev@example.org "\[bioimage\.io\] $DS: new chat message" | wc -l)" = 2 ] || fail "the reviewer taking part did not get the second message"
sleep 1
[ "$(mails_to admin@localhost "\[bioimage\.io\] $DS: new chat message" | wc -l)" = 1 ] ||
  fail "a reviewer not taking part got the message after one did"

# --- SMTP down: the draft still reaches awaiting review; the mail job fails and is retried
smtp_stop
upload "$T/ds.zip"; expect_status 202
DS2=$(jqb .id)
[ "$DS2" != "$DS" ] || fail "the second upload got the same id"
wait_state "$DS2" "awaiting review"
JOB=
for _ in $(seq 1 100); do
  JOB=$(mail_jobs up@example.org | jq -r '[.[] | select(.state == "failed" or .state == "dead")] | .[0].id // empty')
  [ -n "$JOB" ] && break
  sleep 0.1
done
[ -n "$JOB" ] || fail "no failed mail job while SMTP is down: $(mail_jobs up@example.org)"
"$BO_BIN" jobs list | jq -e --argjson id "$JOB" '.[] | select(.id == $id) | .last_error | test("smtp://127.0.0.1")' >/dev/null ||
  fail "last_error does not name the SMTP server: $("$BO_BIN" jobs list | jq -c --argjson id "$JOB" '.[] | select(.id == $id)')"
[ -z "$(mails_to up@example.org "\[bioimage\.io\] $DS2: ")" ] || fail "a mail arrived while SMTP was down"

# --- SMTP back on the same port: retried now (or by the backoff), delivered exactly once
smtp_start "$MB" "$SMTP_PORT"
"$BO_BIN" jobs retry "$JOB" >/dev/null 2>&1 || true # conflict when the backoff already re-queued it
F2=$(wait_mail_to up@example.org "\[bioimage\.io\] $DS2: awaiting review")
grep -q "$BASE/status/$DS2" "$F2" || fail "the retried mail lacks the status link"
wait_mail_to rev@example.org "\[bioimage\.io\] $DS2: new dataset awaiting review" >/dev/null
for _ in $(seq 1 100); do
  [ "$(mail_jobs up@example.org | jq '[.[] | select(.state != "done")] | length')" = 0 ] && break
  sleep 0.1
done
[ "$(mail_jobs up@example.org | jq '[.[] | select(.state != "done")] | length')" = 0 ] || fail "mail jobs not done: $(mail_jobs up@example.org)"
sleep 2 # a duplicate would be a second delivery of a done job; give it time to show
[ "$(mails_to up@example.org "\[bioimage\.io\] $DS2: awaiting review" | wc -l)" = 1 ] || fail "the retried mail arrived more than once"
[ "$(mails_to up@example.org "\[bioimage\.io\] $DS: awaiting review" | wc -l)" = 1 ] || fail "the first mail was sent again"

# --- a user whose address would inject a header gets no mail and blocks nothing
sqlite3 "$BO_DATA_DIR/backoffice.db" "UPDATE users SET email = 'up@example.org' || char(13, 10) || 'Bcc: eve@example.org' WHERE email = 'up@example.org'"
upload "$T/ds.zip"; expect_status 202
DS3=$(jqb .id)
wait_state "$DS3" "awaiting review"
wait_mail_to rev@example.org "\[bioimage\.io\] $DS3: new dataset awaiting review" >/dev/null
! grep -rl "eve@example.org" "$MB/new" >/dev/null 2>&1 || fail "an injected Bcc reached the mail server"
grep -q "mail .* skipped" "$T/server.log" || fail "the refused address was not logged"
smtp_stop
