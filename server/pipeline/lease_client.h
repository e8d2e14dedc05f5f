/* lease_client: `backoffice-worker --lease URL --token T` (README "Runners"). A loop on a
 * worker host: lease a test job from the server (long poll), download its files into a
 * scratch directory (each checked against its size and SHA-256), run it in its own jail
 * exactly as the server's local runner does (test_worker_run, with this binary as the
 * worker), heartbeat the lease while it runs, upload the produced tensors and the result,
 * and lease the next. The host holds its worker token and nothing else of the server's:
 * no storage keys, no database, no user tokens. */
#ifndef BO_LEASE_CLIENT_H
#define BO_LEASE_CLIENT_H

/* The entry point of backoffice-worker when its first argument is --lease (workers/worker.c
 * passes argc/argv on). Runs until SIGTERM or SIGINT (the current job is finished first).
 * Returns the exit status: 0 after a signal, 2 for bad arguments, 1 when the server cannot
 * be used at all (a refused token). Logs go to stderr and never show the token. */
int lease_client_main(int argc, char **argv);

#endif
