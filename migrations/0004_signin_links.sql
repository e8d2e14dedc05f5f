-- 0004_signin_links: one-time sign-in links mailed to an address (issue 8). Only the
-- SHA-256 of a link's token is kept; a link is used at most once (used_unix) and expires at
-- expires_unix. Rows also count requests per address and per client IP for the rate limits.
CREATE TABLE signin_links (
  id           INTEGER PRIMARY KEY,
  email        TEXT NOT NULL,
  client_ip    TEXT NOT NULL,
  token_sha256 TEXT NOT NULL UNIQUE,
  created_unix INTEGER NOT NULL,
  expires_unix INTEGER NOT NULL,
  used_unix    INTEGER
);
CREATE INDEX signin_links_email ON signin_links(email, created_unix);
CREATE INDEX signin_links_ip ON signin_links(client_ip, created_unix);
