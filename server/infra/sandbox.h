/* sandbox: runs one untrusted program (the dynamic-test worker) as a child process with
 * resource limits, no inherited descriptors, a minimal environment, its own process
 * group, and a fresh scratch directory that is removed afterwards. The parent enforces a
 * wall-clock timeout and captures stdout/stderr up to fixed limits. Safe to call from
 * several threads at once (only async-signal-safe calls between fork and exec).
 *
 * With a jail (struct sandbox_jail; DESIGN §8.5) the program runs inside bubblewrap:
 * its own user, mount, PID, network, IPC, UTS and cgroup namespaces; a root of /usr
 * (read-only), a synthetic /etc without secrets, its own /proc and a minimal /dev; the
 * scratch directory read-only at SANDBOX_JOB_DIR with only its out/ writable; a
 * size-limited tmpfs /tmp as its working directory; an unprivileged uid (a server
 * running as root drops to jail->uid first), no_new_privs, no capabilities, a process
 * limit that counts only the jail's own processes, and every descendant killed with it.
 * Without a jail the program runs unconfined: only for an operator's explicit choice
 * (config sandbox=none) and for tests of this module. */
#ifndef BO_SANDBOX_H
#define BO_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

struct bo_error;

#define SANDBOX_STDOUT_MAX (1u << 20)  /* bytes of stdout kept; more kills the child */
#define SANDBOX_STDERR_MAX (64u << 10) /* bytes of stderr kept; the rest is dropped */

/* Why a run ended, as far as the parent can tell. MEMORY is a judgement: a crash or an
 * allocation failure while the address-space limit was close or the program said it ran
 * out of memory (the kernel does not say which limit a SIGSEGV came from). */
enum sandbox_reason {
	SANDBOX_EXITED = 0,  /* exit status in exit_code (the program's own verdict) */
	SANDBOX_TIMEOUT,     /* the wall-clock timeout passed; the group was killed */
	SANDBOX_CPU_LIMIT,   /* SIGXCPU, or SIGKILL at the hard CPU limit */
	SANDBOX_MEMORY,      /* likely the address-space limit (see above), or for sure rss_bytes */
	SANDBOX_FILE_LIMIT,  /* SIGXFSZ: a file grew past the file-size limit */
	SANDBOX_OUTPUT_LIMIT,/* stdout passed SANDBOX_STDOUT_MAX; the group was killed */
	SANDBOX_CRASHED,     /* killed by another signal (SIGSEGV, SIGABRT, …) */
	SANDBOX_OUT_LIMIT,   /* scratch/out held more than limits.out_bytes; the group was killed */
	SANDBOX_UNAVAILABLE, /* the jail could not be made (bwrap missing, namespaces refused):
			      * the program did not run; errout has bwrap's reason */
};

#define SANDBOX_JOB_DIR "/job"   /* where the scratch directory appears inside a jail */
#define SANDBOX_JAIL_FILES_MAX 4 /* extra host files a jail shows */

struct sandbox_jail {
	const char *bwrap;     /* absolute path of bubblewrap's bwrap */
	unsigned uid, gid;     /* a server running as root becomes this uid/gid before bwrap */
	uint64_t tmp_bytes;    /* size of the jail's /tmp (tmpfs, the program's cwd) */
	int64_t processes;     /* most processes and threads at once inside (RLIMIT_NPROC, which
				* counts per user namespace: only the jail's own) */
	/* host files shown read-only at the same path: the program and what it loads
	 * (NULL-terminated; at most SANDBOX_JAIL_FILES_MAX) */
	const char *files[SANDBOX_JAIL_FILES_MAX + 1];
};

struct sandbox_limits {
	int64_t timeout_ms;    /* wall clock; <= 0 = none */
	uint64_t memory_bytes; /* RLIMIT_AS; 0 = unlimited */
	int64_t cpu_seconds;   /* RLIMIT_CPU soft limit (hard = soft + 1); 0 = unlimited */
	uint64_t file_bytes;   /* RLIMIT_FSIZE; 0 = unlimited */
	int64_t open_files;    /* RLIMIT_NOFILE; 0 = 256 */
	uint64_t out_bytes;    /* the parent kills the group when scratch/out holds more than
				* this (checked every 100 ms; 0 = not watched) */
	uint64_t rss_bytes;    /* the parent kills the group when the resident memory of the
				* child and its descendants passes this (checked every 100 ms); 0 = not
				* watched. For children that cannot run under
				* RLIMIT_AS (sanitizer builds reserve terabytes of address space). */
};

/* prepare: called with the fresh scratch directory (absolute path) and the path under
 * which the child will see it (SANDBOX_JOB_DIR in a jail, else the same path) before the
 * child starts, to fill it (e.g. download the package); *input and *input_len start as the spec's
 * and may be replaced (e.g. by a job spec naming the scratch path; the bytes stay owned
 * by the caller until sandbox_run returns). collect: called after the child ended and
 * before the directory is removed, to pick up produced files. A non-zero return stops
 * the run with that code (prepare) or is passed on (collect); err must be set. tick:
 * called about once a second while the child runs (e.g. to extend a job lease). Any of
 * them may be NULL. */
typedef int (*sandbox_prepare_fn)(void *ctx, const char *scratch, const char *seen_as, const void **input,
				  size_t *input_len, struct bo_error *err);
typedef int (*sandbox_collect_fn)(void *ctx, const char *scratch, struct bo_error *err);
typedef void (*sandbox_tick_fn)(void *ctx);

struct sandbox_spec {
	const char *const *argv;  /* argv[0] is an absolute path; no shell is involved */
	const char *const *env;   /* "K=V" list, NULL-terminated; NULL = sandbox_default_env */
	const void *input;        /* written to stdin, then stdin is closed; may be NULL */
	size_t input_len;
	const char *scratch_parent; /* where the scratch directory is made (NULL: $TMPDIR or /tmp) */
	struct sandbox_limits limits;
	int no_network_namespace; /* 1 = do not try to unshare (the result says the network was kept) */
	const struct sandbox_jail *jail; /* NULL = unconfined (see the top of this file) */
	sandbox_prepare_fn prepare;
	sandbox_collect_fn collect;
	sandbox_tick_fn tick;
	void *ctx;
};

struct sandbox_result {
	enum sandbox_reason reason;
	int exit_code;        /* when reason == SANDBOX_EXITED, else -1 */
	int signal;           /* the terminating signal, 0 when it exited */
	int network_cut;      /* 1 when the child ran in its own (empty) network namespace */
	int64_t wall_ms;
	int64_t cpu_ms;       /* user + system of the child and its descendants */
	int64_t peak_rss_kb;  /* wait4 ru_maxrss */
	char *out;            /* stdout (NUL-terminated, malloc'd), at most SANDBOX_STDOUT_MAX */
	size_t out_len;
	char *errout;         /* stderr (NUL-terminated, malloc'd), at most SANDBOX_STDERR_MAX */
	size_t errout_len;
	int errout_truncated;
	int rss_killed;       /* the parent killed it for passing limits.rss_bytes */
	int jailed;           /* 1 when it ran in the jail */
};

/* Runs spec->argv[0] in the sandbox and waits for it (or kills it at the timeout). The
 * scratch directory is made (mode 0700), passed to prepare, used as the child's cwd,
 * passed to collect, and removed, whatever happened. A program that crashes, times out or
 * hits a limit is a result (return 0, reason set), not an error. Returns 0 with *res
 * filled (release with sandbox_result_clear), BO_EINTERNAL when the program cannot be
 * started (not found, not executable: the detail says which) or the scratch directory
 * cannot be made, BO_ENOMEM, or the code of prepare/collect. */
int sandbox_run(const struct sandbox_spec *spec, struct sandbox_result *res, struct bo_error *err);
void sandbox_result_clear(struct sandbox_result *res);

/* One line saying how the run ended, for logs and `error` runs, e.g. "timed out after
 * 600 s (the limit) and was killed" or "killed by SIGSEGV (a crash, or memory refused
 * by the 4 GiB limit)". Writes at most n bytes (NUL-terminated) into buf. */
void sandbox_describe(const struct sandbox_result *res, const struct sandbox_limits *lim, char *buf,
		      size_t n);

/* The environment given when spec->env is NULL: PATH=/usr/bin:/bin, LANG=C.UTF-8,
 * HOME=/nonexistent, OMP_NUM_THREADS=1. Static storage. */
extern const char *const sandbox_default_env[];

/* Checks that bwrap can make the jail here, by running /usr/bin/true in it. 0, or
 * BO_EINTERNAL with the reason (bwrap missing, namespaces refused by the kernel). */
int sandbox_probe_jail(const struct sandbox_jail *jail, struct bo_error *err);

/* Removes every bo-sandbox-* directory directly under parent: the scratch of a killed
 * server. Call at start, before any run. Returns how many were removed, -1 on error. */
int sandbox_remove_stale(const char *parent);

/* Removes path and everything under it (also directories the child made unreadable).
 * Returns 0 or -1 with errno set when something could not be removed. */
int sandbox_remove_tree(const char *path);

#endif
