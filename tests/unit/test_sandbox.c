/* Unit tests for server/infra/sandbox.c, with fake children made of /bin/sh, coreutils and
 * /usr/bin/python3 (never the ASan-built test binary: ASan cannot start under RLIMIT_AS). */
#include "check.h"

#include "common/error.h"
#include "infra/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sandbox_spec spec_of(const char *const *argv, int64_t timeout_ms)
{
	struct sandbox_spec s = {.argv = argv, .scratch_parent = ".", .limits = {.timeout_ms = timeout_ms}};
	return s;
}

/* Scratch directories left in the test's cwd. */
static int leftover_scratch(void)
{
	int n = 0;
	DIR *d = opendir(".");
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "bo-sandbox-", 11))
			n++;
	if (d)
		closedir(d);
	return n;
}

static void test_sandbox__normal_run(void)
{
	const char *argv[] = {"/bin/sh", "-c", "cat; echo oops >&2; exit 3", NULL};
	struct sandbox_spec s = spec_of(argv, 10000);
	s.input = "hello worker";
	s.input_len = 12;
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_EXITED, "reason %d", r.reason);
	check(r.exit_code == 3, "exit %d", r.exit_code);
	check(r.signal == 0, "signal %d", r.signal);
	check(r.out_len == 12 && !strcmp(r.out, "hello worker"), "stdout '%s'", r.out);
	check(!strcmp(r.errout, "oops\n"), "stderr '%s'", r.errout);
	check(r.wall_ms >= 0 && r.wall_ms < 10000, "wall %lld", (long long)r.wall_ms);
	check(r.peak_rss_kb > 0, "peak rss %lld", (long long)r.peak_rss_kb);
	check(leftover_scratch() == 0, "scratch left");
	char why[256];
	sandbox_describe(&r, &s.limits, why, sizeof(why));
	check(!strcmp(why, "exited with status 3"), "describe '%s'", why);
	sandbox_result_clear(&r);
	bo_error_cleanup(&err);
}

static void test_sandbox__large_stdin_and_unread_stdin(void)
{
	size_t n = 3u << 20;
	char *big = malloc(n);
	require(big, "malloc");
	memset(big, 'x', n);
	const char *argv[] = {"/usr/bin/wc", "-c", NULL};
	struct sandbox_spec s = spec_of(argv, 20000);
	s.input = big;
	s.input_len = n;
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_EXITED && r.exit_code == 0, "reason %d exit %d", r.reason, r.exit_code);
	check(!strcmp(r.out, "3145728\n"), "wc says '%s'", r.out);
	sandbox_result_clear(&r);
	/* a child that never reads: the parent gets EPIPE, not a SIGPIPE that would kill it */
	const char *argv2[] = {"/bin/sh", "-c", "exec 0<&-; echo done", NULL};
	s.argv = argv2;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_EXITED && r.exit_code == 0 && !strcmp(r.out, "done\n"), "reason %d '%s'",
	      r.reason, r.out);
	sandbox_result_clear(&r);
	free(big);
	bo_error_cleanup(&err);
}

struct dirs {
	char scratch[4096];
	int prepared, collected;
	char seen[64];
	const char *input;
	int ticks;
};

static void tick(void *ctx)
{
	((struct dirs *)ctx)->ticks++;
}

static int collect(void *ctx, const char *scratch, struct bo_error *err);

static int prepare(void *ctx, const char *scratch, const char *seen_as, const void **input, size_t *input_len,
		   struct bo_error *err)
{
	struct dirs *d = ctx;
	(void)seen_as;
	*input = d->input;
	*input_len = strlen(d->input);
	d->ticks = 0;
	snprintf(d->scratch, sizeof(d->scratch), "%s", scratch);
	char path[4200];
	snprintf(path, sizeof(path), "%s/spec.txt", scratch);
	FILE *f = fopen(path, "w");
	if (!f)
		return bo_error_set(err, BO_EINTERNAL, "cannot write %s", path);
	fputs("from parent\n", f);
	fclose(f);
	d->prepared = 1;
	return 0;
}

static int collect(void *ctx, const char *scratch, struct bo_error *err)
{
	struct dirs *d = ctx;
	char path[4200];
	snprintf(path, sizeof(path), "%s/out/result.txt", scratch);
	FILE *f = fopen(path, "r");
	if (!f)
		return bo_error_set(err, BO_EINTERNAL, "the child wrote no %s", path);
	if (!fgets(d->seen, sizeof(d->seen), f))
		d->seen[0] = '\0';
	fclose(f);
	d->collected = 1;
	return 0;
}

static int prepare_fails(void *ctx, const char *scratch, const char *seen_as, const void **input, size_t *input_len,
			 struct bo_error *err)
{
	(void)seen_as, (void)input, (void)input_len;
	return collect(ctx, scratch, err);
}

static void test_sandbox__scratch_is_cwd_and_removed(void)
{
	/* the child also leaves a directory it made unreadable and unwritable */
	const char *argv[] = {"/bin/sh", "-c",
			      "pwd; cat spec.txt; read line; echo \"$line\"; mkdir -p out locked/deep && "
			      "echo made > out/result.txt && touch locked/deep/f && chmod 000 locked/deep locked; sleep 1.3",
			      NULL};
	struct dirs d = {.input = "spec on stdin\n"};
	struct sandbox_spec s = spec_of(argv, 10000);
	s.prepare = prepare;
	s.collect = collect;
	s.tick = tick;
	s.ctx = &d;
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(d.prepared && d.collected, "callbacks %d %d", d.prepared, d.collected);
	check(d.scratch[0] == '/', "scratch is absolute: %s", d.scratch);
	char expect[4200];
	snprintf(expect, sizeof(expect), "%s\nfrom parent\nspec on stdin\n", d.scratch);
	check(!strcmp(r.out, expect), "child saw cwd/spec '%s', expected '%s'", r.out, expect);
	check(!strcmp(d.seen, "made\n"), "collected '%s'", d.seen);
	check(d.ticks >= 1, "tick called %d times in a 1.3 s run", d.ticks);
	struct stat st;
	check(stat(d.scratch, &st) != 0 && errno == ENOENT, "scratch %s still exists", d.scratch);
	check(leftover_scratch() == 0, "scratch left");
	sandbox_result_clear(&r);

	/* a failing prepare stops the run; the directory still goes */
	s.collect = NULL;
	const char *argv2[] = {"/bin/sh", "-c", "exit 0", NULL};
	s.argv = argv2;
	s.prepare = prepare_fails; /* no out/result.txt yet: fails */
	require(sandbox_run(&s, &r, &err) == BO_EINTERNAL, "prepare failure passed on (%d)", err.code);
	check(strstr(err.detail, "wrote no"), "detail: %s", err.detail);
	check(leftover_scratch() == 0, "scratch left after a failed prepare");
	bo_error_cleanup(&err);
}

static void test_sandbox__timeout_kills_the_group(void)
{
	char pidfile[4200], cwd[4096];
	require(getcwd(cwd, sizeof(cwd)), "getcwd");
	snprintf(pidfile, sizeof(pidfile), "%s/bg.pid", cwd);
	char script[4400];
	snprintf(script, sizeof(script), "sleep 30 & echo $! > %s; sleep 30", pidfile);
	const char *argv[] = {"/bin/sh", "-c", script, NULL};
	struct sandbox_spec s = spec_of(argv, 300);
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_TIMEOUT, "reason %d", r.reason);
	check(r.signal == SIGKILL, "signal %d", r.signal);
	check(r.wall_ms >= 300 && r.wall_ms < 3000, "wall %lld", (long long)r.wall_ms);
	FILE *f = fopen(pidfile, "r");
	int bg = 0;
	require(f && fscanf(f, "%d", &bg) == 1, "background pid written");
	fclose(f);
	/* the background sleep was in the group: gone, or a zombie waiting for init */
	char stat_path[64], line[512] = "";
	snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat", bg);
	for (int i = 0; i < 50; i++) {
		FILE *sf = fopen(stat_path, "r");
		if (!sf) {
			line[0] = '\0';
			break;
		}
		if (!fgets(line, sizeof(line), sf))
			line[0] = '\0';
		fclose(sf);
		char *rp = strrchr(line, ')');
		if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
			break;
		usleep(20000);
	}
	char *rp = strrchr(line, ')');
	check(!line[0] || (rp && (rp[2] == 'Z' || rp[2] == 'X')), "background child %d still alive: %s", bg, line);
	char why[256];
	sandbox_describe(&r, &s.limits, why, sizeof(why));
	check(strstr(why, "timed out"), "describe '%s'", why);
	sandbox_result_clear(&r);
	bo_error_cleanup(&err);
}

/* /proc/PID/stat says the process is gone or a zombie, within a second. */
static int process_gone(int pid)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (int i = 0; i < 50; i++) {
		FILE *f = fopen(path, "r");
		if (!f)
			return 1;
		char *ok = fgets(line, sizeof(line), f);
		fclose(f);
		char *rp = ok ? strrchr(line, ')') : NULL;
		if (!rp || rp[2] == 'Z' || rp[2] == 'X')
			return 1;
		usleep(20000);
	}
	return 0;
}

static void test_sandbox__parent_killed_takes_the_child(void)
{
	char pidfile[1200], cwd[1024], script[4000];
	require(getcwd(cwd, sizeof(cwd)), "getcwd");
	snprintf(pidfile, sizeof(pidfile), "%s/child.pid", cwd);
	snprintf(script, sizeof(script), "echo $$ > %s.tmp && mv %s.tmp %s && exec sleep 30", pidfile, pidfile, pidfile);
	pid_t server = fork();
	require(server >= 0, "fork");
	if (server == 0) {
		/* stands in for a server that gets SIGKILLed while its worker runs */
		const char *argv[] = {"/bin/sh", "-c", script, NULL};
		struct sandbox_spec s = spec_of(argv, 60000);
		struct sandbox_result r;
		struct bo_error err = BO_ERROR_INIT;
		sandbox_run(&s, &r, &err);
		_exit(0);
	}
	int child = 0;
	for (int i = 0; i < 250 && !child; i++) {
		FILE *f = fopen(pidfile, "r");
		if (f) {
			if (fscanf(f, "%d", &child) != 1)
				child = 0;
			fclose(f);
		}
		if (!child)
			usleep(20000);
	}
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	require(child > 0, "the sandboxed child never started");
	check(process_gone(child), "the worker %d outlived its killed parent", child);
}

static void test_sandbox__segfault(void)
{
	const char *argv[] = {"/bin/sh", "-c", "echo partial; kill -SEGV $$", NULL};
	struct sandbox_spec s = spec_of(argv, 10000);
	s.limits.memory_bytes = 1ull << 30;
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_CRASHED, "reason %d", r.reason);
	check(r.signal == SIGSEGV, "signal %d", r.signal);
	check(r.exit_code == -1, "exit %d", r.exit_code);
	check(!strcmp(r.out, "partial\n"), "stdout '%s'", r.out);
	char why[256];
	sandbox_describe(&r, &s.limits, why, sizeof(why));
	check(!strcmp(why, "crashed (killed by SIGSEGV)"), "describe '%s'", why);
	sandbox_result_clear(&r);
	bo_error_cleanup(&err);
}

static void test_sandbox__memory_hog(void)
{
	if (access("/usr/bin/python3", X_OK))
		skip_test("no /usr/bin/python3");
	const char *argv[] = {"/usr/bin/python3", "-c", "a = bytearray(2 << 30)\nprint('allocated')", NULL};
	struct sandbox_spec s = spec_of(argv, 30000);
	s.limits.memory_bytes = 512ull << 20;
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_MEMORY, "reason %d exit %d signal %d stderr %s", r.reason, r.exit_code, r.signal,
	      r.errout);
	check(!strstr(r.out, "allocated"), "the 2 GiB allocation succeeded under a 512 MiB limit");
	check(r.peak_rss_kb < 512 * 1024, "peak rss %lld KiB", (long long)r.peak_rss_kb);
	char why[256];
	sandbox_describe(&r, &s.limits, why, sizeof(why));
	check(strstr(why, "out of memory") && strstr(why, "512 MiB"), "describe '%s'", why);
	sandbox_result_clear(&r);
	/* the same program without the limit is not reported as a memory problem */
	const char *argv2[] = {"/usr/bin/python3", "-c", "a = bytearray(1 << 20)\nprint('allocated')", NULL};
	s.argv = argv2;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_EXITED && r.exit_code == 0 && !strcmp(r.out, "allocated\n"), "reason %d '%s'",
	      r.reason, r.out);
	sandbox_result_clear(&r);
	bo_error_cleanup(&err);
}

static void test_sandbox__resident_memory_watch(void)
{
	if (access("/usr/bin/python3", X_OK))
		skip_test("no /usr/bin/python3");
	/* touched memory, so it is resident; no address-space limit */
	const char *argv[] = {"/usr/bin/python3", "-c", "a = []\nwhile True: a.append(b'x' * (1 << 24))", NULL};
	struct sandbox_spec s = spec_of(argv, 30000);
	s.limits.rss_bytes = 200ull << 20;
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_MEMORY && r.rss_killed, "reason %d rss_killed %d", r.reason, r.rss_killed);
	check(r.signal == SIGKILL, "signal %d", r.signal);
	check(r.peak_rss_kb >= 200 * 1024 && r.peak_rss_kb < 1024 * 1024, "peak rss %lld KiB", (long long)r.peak_rss_kb);
	check(r.wall_ms < 20000, "wall %lld", (long long)r.wall_ms);
	char why[256];
	sandbox_describe(&r, &s.limits, why, sizeof(why));
	check(!strcmp(why, "used more than 200 MiB of memory (the limit) and was killed"), "describe '%s'", why);
	sandbox_result_clear(&r);
	bo_error_cleanup(&err);
}

static void test_sandbox__cpu_hog(void)
{
	const char *argv[] = {"/bin/sh", "-c", "while :; do :; done", NULL};
	struct sandbox_spec s = spec_of(argv, 20000);
	s.limits.cpu_seconds = 1;
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_CPU_LIMIT, "reason %d signal %d", r.reason, r.signal);
	check(r.signal == SIGXCPU || r.signal == SIGKILL, "signal %d", r.signal);
	check(r.cpu_ms >= 900, "cpu %lld ms", (long long)r.cpu_ms);
	check(r.wall_ms < 15000, "wall %lld", (long long)r.wall_ms);
	char why[256];
	sandbox_describe(&r, &s.limits, why, sizeof(why));
	check(strstr(why, "1 s of CPU time"), "describe '%s'", why);
	sandbox_result_clear(&r);
	bo_error_cleanup(&err);
}

static void test_sandbox__output_limits(void)
{
	const char *argv[] = {"/usr/bin/yes", NULL};
	struct sandbox_spec s = spec_of(argv, 20000);
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_OUTPUT_LIMIT, "reason %d", r.reason);
	check(r.out_len == SANDBOX_STDOUT_MAX, "kept %zu bytes", r.out_len);
	check(r.wall_ms < 10000, "wall %lld", (long long)r.wall_ms);
	sandbox_result_clear(&r);
	/* stderr is a log: cut at its limit, the program goes on */
	const char *argv2[] = {"/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' e >&2; echo fine", NULL};
	s.argv = argv2;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_EXITED && r.exit_code == 0, "reason %d", r.reason);
	check(r.errout_len == SANDBOX_STDERR_MAX && r.errout_truncated, "stderr %zu", r.errout_len);
	check(!strcmp(r.out, "fine\n"), "stdout '%s'", r.out);
	sandbox_result_clear(&r);
	/* the file-size limit */
	const char *argv3[] = {"/bin/sh", "-c", "head -c 100000 /dev/zero > big", NULL};
	s.argv = argv3;
	s.limits.file_bytes = 4096;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_FILE_LIMIT || (r.reason == SANDBOX_EXITED && r.exit_code != 0),
	      "reason %d exit %d signal %d", r.reason, r.exit_code, r.signal);
	sandbox_result_clear(&r);
	bo_error_cleanup(&err);
}

static void test_sandbox__fds_not_inherited(void)
{
	int fd = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
	require(fd >= 0, "open");
	require(dup2(fd, 50) == 50, "dup2");
	const char *argv[] = {"/bin/ls", "/proc/self/fd", NULL};
	struct sandbox_spec s = spec_of(argv, 10000);
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	/* ls's own directory handle is the only one past stdio */
	check(!strcmp(r.out, "0\n1\n2\n3\n"), "child's fds: %s", r.out);
	sandbox_result_clear(&r);
	close(50);
	close(fd);
	bo_error_cleanup(&err);
}

static void test_sandbox__environment_minimal(void)
{
	setenv("BO_SANDBOX_SECRET", "leaked", 1);
	const char *argv[] = {"/usr/bin/env", NULL};
	struct sandbox_spec s = spec_of(argv, 10000);
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(!strcmp(r.out, "PATH=/usr/bin:/bin\nLANG=C.UTF-8\nHOME=/nonexistent\nOMP_NUM_THREADS=1\n"), "env: %s",
	      r.out);
	sandbox_result_clear(&r);
	const char *env[] = {"ONLY=this", NULL};
	s.env = env;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(!strcmp(r.out, "ONLY=this\n"), "env: %s", r.out);
	sandbox_result_clear(&r);
	unsetenv("BO_SANDBOX_SECRET");
	bo_error_cleanup(&err);
}

static void test_sandbox__network(void)
{
	const char *argv[] = {"/bin/cat", "/proc/self/net/dev", NULL};
	struct sandbox_spec s = spec_of(argv, 10000);
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	if (r.network_cut) {
		/* two header lines, then only the loopback of the new namespace */
		int lines = 0;
		for (const char *p = r.out; *p; p++)
			lines += *p == '\n';
		check(lines == 3 && strstr(r.out, "lo:"), "interfaces in the namespace: %s", r.out);
	}
	sandbox_result_clear(&r);
	s.no_network_namespace = 1;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.network_cut == 0, "namespace made although not asked for");
	sandbox_result_clear(&r);
	bo_error_cleanup(&err);
}

static void test_sandbox__cannot_exec(void)
{
	const char *argv[] = {"/nonexistent/backoffice-worker", NULL};
	struct sandbox_spec s = spec_of(argv, 10000);
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	check(sandbox_run(&s, &r, &err) == BO_EINTERNAL, "code %d", err.code);
	check(strstr(err.detail, "/nonexistent/backoffice-worker") && strstr(err.detail, "No such file"), "detail: %s",
	      err.detail);
	check(r.out == NULL && r.errout == NULL, "no result buffers");
	check(leftover_scratch() == 0, "scratch left");
	bo_error_cleanup(&err);
	const char *rel[] = {"sh", NULL};
	s.argv = rel;
	check(sandbox_run(&s, &r, &err) == BO_EINTERNAL, "a relative program path is refused");
	bo_error_cleanup(&err);
}

static void test_sandbox__remove_tree(void)
{
	require(mkdir("t", 0700) == 0 && mkdir("t/a", 0700) == 0 && mkdir("t/a/b", 0700) == 0, "mkdir");
	FILE *f = fopen("t/a/b/file", "w");
	require(f, "fopen");
	fclose(f);
	require(symlink("/etc", "t/link") == 0, "symlink");
	chmod("t/a/b", 0);
	chmod("t/a", 0500);
	check(sandbox_remove_tree("t") == 0, "remove: %s", strerror(errno));
	struct stat st;
	check(lstat("t", &st) != 0, "t still exists");
	check(stat("/etc/passwd", &st) == 0, "the symlink's target was followed");
	check(sandbox_remove_tree("t") == 0, "removing a missing tree is fine");
}


/* ---------------------------------------------------------------- the jail */

/* A jail with the test's own scratch parent. The cwd of a unit test is a 0700 temp dir;
 * the jail's uid (a root test drops to it) must be able to pass it. */
static struct sandbox_jail jail_for_test(void)
{
	struct sandbox_jail j = {.bwrap = "/usr/bin/bwrap", .uid = 65534, .gid = 65534, .tmp_bytes = 1 << 20,
				 .processes = 32};
	chmod(".", 0711);
	return j;
}

/* 1 when bwrap can make the jail here; else the test is skipped with bwrap's reason. */
static int jail_works(const struct sandbox_jail *j, char *why, size_t n)
{
	struct bo_error err = BO_ERROR_INIT;
	int ok = access(j->bwrap, X_OK) == 0 && sandbox_probe_jail(j, &err) == 0;
	snprintf(why, n, "%s", access(j->bwrap, X_OK) ? "bubblewrap is not installed" : err.detail);
	bo_error_cleanup(&err);
	return ok;
}

static int make_out(void *ctx, const char *scratch, const char *seen_as, const void **input, size_t *input_len,
		    struct bo_error *err)
{
	char path[4200];
	(void)ctx, (void)input, (void)input_len;
	snprintf(path, sizeof(path), "%s/out", scratch);
	if (mkdir(path, 0700))
		return bo_error_set(err, BO_EINTERNAL, "mkdir %s", path);
	snprintf(path, sizeof(path), "%s/pkg.txt", scratch);
	FILE *f = fopen(path, "w");
	if (!f)
		return bo_error_set(err, BO_EINTERNAL, "cannot write %s", path);
	fprintf(f, "package seen as %s\n", seen_as);
	fclose(f);
	return 0;
}

/* What an architecture file would try first, each attempt printing OK (it worked) or NO. */
static void test_sandbox__jail_holds(void)
{
	struct sandbox_jail j = jail_for_test();
	char why[512], secret[64];
	if (!jail_works(&j, why, sizeof(why)))
		skip_test("the jail cannot be made here: %s", why);
	/* a host file next to the scratch, and one in the host's /tmp */
	FILE *f = fopen("secret.txt", "w");
	require(f, "secret");
	fputs("host secret\n", f);
	fclose(f);
	snprintf(secret, sizeof(secret), "/tmp/bo-jail-test-%d", (int)getpid());
	f = fopen(secret, "w");
	require(f, "tmp secret");
	fputs("tmp secret\n", f);
	fclose(f);
	char script[2048];
	snprintf(script, sizeof(script),
		 "t() { if eval \"$2\" >/dev/null 2>&1; then echo \"$1 OK\"; else echo \"$1 NO\"; fi; }\n"
		 "echo \"uid $(id -u) cwd $(pwd)\"\n"
		 "t shadow 'cat /etc/shadow'\n"
		 "t hostname 'test -e /etc/hostname'\n"
		 "t hostsecret 'cat %s/secret.txt'\n"
		 "t hosttmp 'cat %s'\n"
		 "t root 'ls /root/.'\n"
		 "t home 'ls /home/.'\n"
		 "t var 'ls /var/.'\n"
		 "t jobwrite 'echo x > /job/new.txt'\n"
		 "t jobread 'grep -q \"seen as /job\" /job/pkg.txt'\n"
		 "t outwrite 'echo x > /job/out/made.txt'\n"
		 "t tmpwrite 'echo x > /tmp/x'\n"
		 "t tmpfill 'head -c 2000000 /dev/zero > /tmp/big'\n"
		 "t usrwrite 'touch /usr/x'\n"
		 "t net 'exec 3<>/dev/tcp/127.0.0.1/22'\n"
		 "t procs 'test $(ls -d /proc/[0-9]* | wc -l) -gt 6'\n"
		 "t userns 'unshare -U true'\n"
		 "setsid sh -c 'sleep 30' & echo \"grandchild $!\"\n"
		 "/usr/bin/python3 -c 'import os, time\n"
		 "n = 0\n"
		 "try:\n"
		 "    for i in range(300):\n"
		 "        if os.fork() == 0:\n"
		 "            time.sleep(5); os._exit(0)\n"
		 "        n += 1\n"
		 "except OSError: pass\n"
		 "print(\"forked\", n)'\n",
		 getcwd(why, sizeof(why)) ? why : ".", secret);
	const char *argv[] = {"/bin/bash", "-c", script, NULL};
	struct sandbox_spec s = spec_of(argv, 20000);
	s.jail = &j;
	s.prepare = make_out;
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.jailed && r.reason == SANDBOX_EXITED && r.exit_code == 0, "reason %d exit %d: %s", r.reason,
	      r.exit_code, r.errout);
	const char *o = r.out;
	check(strstr(o, "uid 65534 cwd /tmp"), "identity: %s", o);
	static const char *const refused[] = {"shadow", "hostname", "hostsecret", "hosttmp", "root", "home",
					      "var", "jobwrite", "tmpfill", "usrwrite", "net", "procs", "userns"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
		char want[64];
		snprintf(want, sizeof(want), "%s NO\n", refused[i]);
		check(strstr(o, want), "%s was let through:\n%s", refused[i], o);
	}
	check(strstr(o, "jobread OK") && strstr(o, "outwrite OK") && strstr(o, "tmpwrite OK"),
	      "the jail cannot do its work:\n%s", o);
	const char *fk = strstr(o, "forked ");
	check(fk && atoi(fk + 7) < 32, "the process limit did not hold: %s", o);
	/* the setsid grandchild died with the jail */
	const char *gc = strstr(o, "grandchild ");
	check(gc, "no grandchild line: %s", o);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "pgrep -u 65534 -f 'sleep 30' >/dev/null");
	check(system(cmd) != 0, "a grandchild survived the jail");
	check(leftover_scratch() == 0, "scratch left");
	unlink(secret);
	sandbox_result_clear(&r);
	bo_error_cleanup(&err);
}

/* A program that fills its output directory is killed at the limit. */
static void test_sandbox__jail_out_limit(void)
{
	struct sandbox_jail j = jail_for_test();
	char why[512];
	if (!jail_works(&j, why, sizeof(why)))
		skip_test("the jail cannot be made here: %s", why);
	const char *argv[] = {"/bin/sh", "-c", "while :; do head -c 1000000 /dev/zero > /job/out/f$$$(date +%N); done",
			      NULL};
	struct sandbox_spec s = spec_of(argv, 20000);
	s.jail = &j;
	s.prepare = make_out;
	s.limits.out_bytes = 8 << 20;
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_OUT_LIMIT, "reason %d (%s)", r.reason, r.errout);
	sandbox_describe(&r, &s.limits, why, sizeof(why));
	check(strstr(why, "8 MiB into its output directory"), "describe '%s'", why);
	check(r.wall_ms < 10000, "killed only after %lld ms", (long long)r.wall_ms);
	sandbox_result_clear(&r);
	bo_error_cleanup(&err);
}

/* The resident-memory watch sees the program inside the jail, not bwrap. */
static void test_sandbox__jail_memory_watch(void)
{
	struct sandbox_jail j = jail_for_test();
	char why[512];
	if (!jail_works(&j, why, sizeof(why)))
		skip_test("the jail cannot be made here: %s", why);
	const char *argv[] = {"/usr/bin/python3", "-c", "a = []\nwhile True: a.append(b'x' * (1 << 24))", NULL};
	struct sandbox_spec s = spec_of(argv, 20000);
	s.jail = &j;
	s.limits.rss_bytes = 128 << 20;
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_MEMORY && r.rss_killed, "reason %d (%s)", r.reason, r.errout);
	check(r.wall_ms < 15000, "killed only after %lld ms", (long long)r.wall_ms);
	sandbox_result_clear(&r);
	bo_error_cleanup(&err);
}

/* How many descriptors this process has open. */
static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* No bwrap, or a kernel that refuses: the program does not run, and the result says so. */
static void test_sandbox__jail_unavailable(void)
{
	struct sandbox_jail j = jail_for_test();
	j.bwrap = "/nonexistent/bwrap";
	const char *argv[] = {"/bin/sh", "-c", "touch ran", NULL};
	struct sandbox_spec s = spec_of(argv, 5000);
	s.jail = &j;
	struct sandbox_result r;
	struct bo_error err = BO_ERROR_INIT;
	char why[512];
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_UNAVAILABLE, "reason %d", r.reason);
	sandbox_describe(&r, &s.limits, why, sizeof(why));
	check(strstr(why, "sandbox unavailable") && strstr(why, "bubblewrap"), "describe '%s'", why);
	check(access("ran", F_OK) != 0, "the program ran unconfined");
	sandbox_result_clear(&r);
	check(sandbox_probe_jail(&j, &err) == BO_EINTERNAL && strstr(err.detail, "sandbox unavailable"), "probe: %s",
	      err.detail);
	/* and it leaves no descriptor behind: a server refusing tests for a day must not run out */
	int before = open_fds();
	for (int i = 0; i < 5; i++) {
		require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
		sandbox_result_clear(&r);
	}
	check(open_fds() == before, "%d descriptors open after 5 refused runs, %d before", open_fds(), before);
	/* a directory is not a bwrap either (access(X_OK) alone would say yes) */
	j.bwrap = "/usr";
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_UNAVAILABLE, "a directory as bwrap: reason %d", r.reason);
	sandbox_result_clear(&r);
	/* a bwrap that cannot make the namespaces: a fake that fails as bwrap does */
	FILE *f = fopen("fakebwrap", "w");
	require(f, "fake");
	fputs("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n", f);
	fclose(f);
	chmod("fakebwrap", 0755);
	char fake[4200];
	require(getcwd(why, sizeof(why)), "cwd");
	snprintf(fake, sizeof(fake), "%s/fakebwrap", why);
	j.bwrap = fake;
	require(sandbox_run(&s, &r, &err) == 0, "run: %s", err.detail);
	check(r.reason == SANDBOX_UNAVAILABLE, "reason %d", r.reason);
	sandbox_describe(&r, &s.limits, why, sizeof(why));
	check(strstr(why, "No permissions to create new namespace"), "describe '%s'", why);
	sandbox_result_clear(&r);
	bo_error_cleanup(&err);
}

/* Stale scratch directories of a killed server go; other entries stay. */
static void test_sandbox__remove_stale(void)
{
	mkdir("p", 0700);
	mkdir("p/bo-sandbox-aaaaaa", 0700);
	mkdir("p/bo-sandbox-bbbbbb", 0700);
	mkdir("p/bo-sandbox-bbbbbb/deep", 0000);
	mkdir("p/other", 0700);
	check(sandbox_remove_stale("p") == 2, "two removed");
	check(access("p/other", F_OK) == 0, "other entries stay");
	check(access("p/bo-sandbox-aaaaaa", F_OK) != 0, "stale left");
	check(sandbox_remove_stale("nonexistent") == 0, "a missing parent is nothing to remove");
}

static const struct check_test tests[] = {
	TEST(test_sandbox__normal_run),
	TEST(test_sandbox__large_stdin_and_unread_stdin),
	TEST(test_sandbox__scratch_is_cwd_and_removed),
	TEST(test_sandbox__timeout_kills_the_group),
	TEST(test_sandbox__parent_killed_takes_the_child),
	TEST(test_sandbox__segfault),
	TEST(test_sandbox__memory_hog),
	TEST(test_sandbox__resident_memory_watch),
	TEST(test_sandbox__cpu_hog),
	TEST(test_sandbox__output_limits),
	TEST(test_sandbox__fds_not_inherited),
	TEST(test_sandbox__environment_minimal),
	TEST(test_sandbox__network),
	TEST(test_sandbox__cannot_exec),
	TEST(test_sandbox__remove_tree),
	TEST(test_sandbox__jail_holds),
	TEST(test_sandbox__jail_out_limit),
	TEST(test_sandbox__jail_memory_watch),
	TEST(test_sandbox__jail_unavailable),
	TEST(test_sandbox__remove_stale),
};

int main(int argc, char **argv)
{
	return check_run(argc, argv, tests, sizeof tests / sizeof *tests);
}
