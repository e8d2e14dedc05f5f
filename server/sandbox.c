/* sandbox: fork + exec of one untrusted program with limits, and the parent's loop that
 * feeds stdin, collects stdout/stderr with poll, and enforces the wall clock. Between
 * fork and exec the child only makes async-signal-safe calls (the server has threads);
 * every string it needs is built before fork. Invariant: when sandbox_run returns, the
 * child's whole process group is dead and reaped and the scratch directory is gone. */
#include "sandbox.h"

#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 100         /* how often the parent looks at the child while pipes are quiet */
#define DRAIN_MS 1000       /* after the child died: how long stragglers may hold the pipes */
#define REMOVE_MAX_DEPTH 256

const char *const sandbox_default_env[] = {
	"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "HOME=/nonexistent", "OMP_NUM_THREADS=1", NULL,
};

/* ---------------------------------------------------------------- scratch removal */

static int remove_at(int at, const char *name, int depth)
{
	if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM && errno != EACCES)
		return -1;
	if (depth > REMOVE_MAX_DEPTH) {
		errno = ELOOP;
		return -1;
	}
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && fchmodat(at, name, 0700, 0) == 0)
		fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* the child may have taken away our write permission on its own directories */
	(void)fchmod(fd, 0700);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int rc = 0, saved = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (remove_at(dirfd(d), e->d_name, depth + 1) && !rc) {
			rc = -1;
			saved = errno;
		}
	}
	closedir(d);
	if (unlinkat(at, name, AT_REMOVEDIR) && !rc) {
		rc = -1;
		saved = errno;
	}
	if (rc)
		errno = saved;
	return rc;
}

int sandbox_remove_tree(const char *path)
{
	return remove_at(AT_FDCWD, path, 0);
}

/* ---------------------------------------------------------------- the child */

/* What the child needs, prepared before fork. */
struct child_plan {
	const char *path;
	char *const *argv;
	char *const *env;
	const char *cwd;
	int in_r, out_w, err_w, st_w;
	int unshare_net;
	pid_t parent;
	char uid_map[64], gid_map[64];
	struct rlimit cpu, as, fsize, nofile, core;
};

static void child_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	(void)!write(fd, text, strlen(text));
	close(fd);
}

static void child_report(int st, char tag, int code)
{
	char buf[1 + sizeof(int)];
	buf[0] = tag;
	memcpy(buf + 1, &code, sizeof(int));
	(void)!write(st, buf, sizeof(buf));
}

static int child_high_fd(int fd)
{
	return fcntl(fd, F_DUPFD, 10);
}

static void child_close_from(int lowest)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowest, ~0u, 0) == 0)
		return;
#endif
	struct rlimit rl;
	long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : 65536;
	for (long fd = lowest; fd < max; fd++)
		close((int)fd);
}

static _Noreturn void child_run(const struct child_plan *p)
{
	sigset_t none;
	sigemptyset(&none);
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		(void)sigaction(s, &dfl, NULL); /* ignored signals would stay ignored across exec */
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);

	/* out of the way of 0..3 whatever numbers the pipes got */
	int in_r = child_high_fd(p->in_r), out_w = child_high_fd(p->out_w);
	int err_w = child_high_fd(p->err_w), st_w = child_high_fd(p->st_w);
	if (in_r < 0 || out_w < 0 || err_w < 0 || st_w < 0)
		_exit(127);
	if (dup2(in_r, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0 || dup3(st_w, 3, O_CLOEXEC) < 0)
		_exit(127);
	child_close_from(4);

	char net = 'n';
	if (p->unshare_net) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0) {
			/* same ids inside: without a mapping the child could not create files */
			child_write_file("/proc/self/setgroups", "deny");
			child_write_file("/proc/self/uid_map", p->uid_map);
			child_write_file("/proc/self/gid_map", p->gid_map);
			net = 'N';
		} else if (unshare(CLONE_NEWNET) == 0) {
			net = 'N';
		}
	}
	if (write(3, &net, 1) != 1)
		_exit(127);
	if (chdir(p->cwd)) {
		child_report(3, 'C', errno);
		_exit(127);
	}
	if (setrlimit(RLIMIT_CORE, &p->core) || setrlimit(RLIMIT_NOFILE, &p->nofile) ||
	    (p->cpu.rlim_cur != RLIM_INFINITY && setrlimit(RLIMIT_CPU, &p->cpu)) ||
	    (p->fsize.rlim_cur != RLIM_INFINITY && setrlimit(RLIMIT_FSIZE, &p->fsize)) ||
	    (p->as.rlim_cur != RLIM_INFINITY && setrlimit(RLIMIT_AS, &p->as))) {
		child_report(3, 'R', errno);
		_exit(127);
	}
	/* a server killed with SIGKILL cannot enforce the timeout any more: take the worker
	 * along (set last: a new user namespace resets it) */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != p->parent)
		_exit(127);
	execve(p->path, p->argv, p->env);
	child_report(3, 'E', errno);
	_exit(127);
}

/* ---------------------------------------------------------------- the parent */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct capture {
	int fd;
	char *buf;
	size_t len, cap, max;
	int over; /* more arrived than max */
};

/* Reads what is available. Returns 1 at EOF (fd closed), 0 otherwise. */
static int capture_read(struct capture *c)
{
	char chunk[16384];
	for (;;) {
		ssize_t n = read(c->fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			close(c->fd);
			c->fd = -1;
			return 1;
		}
		size_t take = (size_t)n;
		if (c->len + take > c->max) {
			c->over = 1;
			take = c->max - c->len;
		}
		if (take && c->len + take + 1 > c->cap) {
			size_t ncap = c->cap ? c->cap : 4096;
			while (ncap < c->len + take + 1)
				ncap *= 2;
			char *nb = realloc(c->buf, ncap);
			if (!nb) {
				c->over = 1; /* keep what we have; the child is treated as over the limit */
				return 0;
			}
			c->buf = nb;
			c->cap = ncap;
		}
		if (take) {
			memcpy(c->buf + c->len, chunk, take);
			c->len += take;
		}
		if ((size_t)n < sizeof(chunk))
			return 0;
	}
}

/* Resident bytes of pid, or 0 when it cannot be read (the child is gone). */
static uint64_t resident_bytes(pid_t pid)
{
	char path[64], buf[128];
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	unsigned long long size = 0, resident = 0;
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static struct rlimit limit_of(uint64_t v)
{
	struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY};
	if (v) {
		r.rlim_cur = (rlim_t)v;
		r.rlim_max = (rlim_t)v;
	}
	return r;
}

static int mentions_memory(const char *s)
{
	if (!s)
		return 0;
	static const char *const words[] = {"MemoryError", "bad_alloc", "out of memory", "Out of memory",
					    "Cannot allocate memory", "failed to allocate", "Failed to allocate"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(s, words[i]))
			return 1;
	return 0;
}

static void classify(struct sandbox_result *res, const struct sandbox_limits *lim, int status,
		     int timed_out, int output_over)
{
	int near_as = lim->memory_bytes && (uint64_t)res->peak_rss_kb * 1024 >= lim->memory_bytes / 4 * 3;
	int memory_hint = lim->memory_bytes && (near_as || mentions_memory(res->errout));
	res->exit_code = -1;
	res->signal = 0;
	if (WIFEXITED(status))
		res->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		res->signal = WTERMSIG(status);
	if (timed_out)
		res->reason = SANDBOX_TIMEOUT;
	else if (output_over)
		res->reason = SANDBOX_OUTPUT_LIMIT;
	else if (res->rss_killed)
		res->reason = SANDBOX_MEMORY;
	else if (WIFEXITED(status))
		res->reason = res->exit_code != 0 && memory_hint ? SANDBOX_MEMORY : SANDBOX_EXITED;
	else if (res->signal == SIGXCPU ||
		 (res->signal == SIGKILL && lim->cpu_seconds > 0 && res->cpu_ms >= lim->cpu_seconds * 1000))
		res->reason = SANDBOX_CPU_LIMIT;
	else if (res->signal == SIGXFSZ)
		res->reason = SANDBOX_FILE_LIMIT;
	else if (memory_hint && (res->signal == SIGSEGV || res->signal == SIGABRT || res->signal == SIGBUS ||
				 res->signal == SIGKILL))
		res->reason = SANDBOX_MEMORY;
	else
		res->reason = SANDBOX_CRASHED;
}

static int make_scratch(const char *parent, char *out, size_t n, struct bo_error *err)
{
	const char *base = parent;
	if (!base || !*base)
		base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	char rel[4096];
	if ((size_t)snprintf(rel, sizeof(rel), "%s/bo-sandbox-XXXXXX", base) >= sizeof(rel))
		return bo_error_set(err, BO_EINTERNAL, "scratch directory parent %s: path too long", base);
	if (!mkdtemp(rel))
		return bo_error_set(err, BO_EINTERNAL, "cannot create a scratch directory in %s: %s", base,
				    strerror(errno));
	/* the worker is told absolute paths */
	if (!realpath(rel, out) || strlen(out) >= n) {
		int e = errno;
		rmdir(rel);
		return bo_error_set(err, BO_EINTERNAL, "cannot resolve scratch directory %s: %s", rel, strerror(e));
	}
	return 0;
}

/* Starts the child. On success *pid is set and the child has exec'd (the status pipe
 * was closed by exec); BO_EINTERNAL when it could not (the child is reaped). */
static int start_child(struct child_plan *plan, int st_r, pid_t *pid, int *network_cut, struct bo_error *err)
{
	pid_t p = fork();
	if (p < 0)
		return bo_error_set(err, BO_EINTERNAL, "cannot fork the sandboxed child: %s", strerror(errno));
	if (p == 0)
		child_run(plan);
	(void)setpgid(p, p); /* also from this side: the group exists before we could kill it */
	close_fd(&plan->in_r);
	close_fd(&plan->out_w);
	close_fd(&plan->err_w);
	close_fd(&plan->st_w);
	char buf[2 + sizeof(int)];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(st_r, buf + got, sizeof(buf) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(buf))
			break;
	}
	*network_cut = got >= 1 && buf[0] == 'N';
	if (got == 1) {
		*pid = p;
		return 0;
	}
	int code = 0;
	if (got == sizeof(buf))
		memcpy(&code, buf + 2, sizeof(int));
	int status;
	while (waitpid(p, &status, 0) < 0 && errno == EINTR)
		;
	const char *what = got < sizeof(buf) ? "the child died before exec"
			   : buf[1] == 'C'      ? "cannot enter the scratch directory"
			   : buf[1] == 'R'      ? "cannot set resource limits"
						: "cannot execute";
	return bo_error_set(err, BO_EINTERNAL, "sandbox: %s %s: %s", what, plan->path,
			    code ? strerror(code) : "unknown reason");
}

static int run_child(const struct sandbox_spec *spec, const char *scratch, const void *input, size_t input_len,
		     struct sandbox_result *res, struct bo_error *err)
{
	int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, st_p[2] = {-1, -1};
	struct capture out = {.fd = -1, .max = SANDBOX_STDOUT_MAX}, er = {.fd = -1, .max = SANDBOX_STDERR_MAX};
	const struct sandbox_limits *lim = &spec->limits;
	sigset_t pipe_set, old_mask;
	int rc = 0, timed_out = 0, killed = 0, status = 0, epipe = 0, mask_set = 0;
	pid_t pid = -1;
	size_t written = 0;
	int64_t start = now_ms();

	if (pipe2(in_p, O_CLOEXEC) || pipe2(out_p, O_CLOEXEC) || pipe2(err_p, O_CLOEXEC) || pipe2(st_p, O_CLOEXEC)) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot create pipes for the sandbox: %s", strerror(errno));
		goto out;
	}
	struct child_plan plan = {
		.path = spec->argv[0],
		/* execve's prototype is not const-correct; the strings are not written */
		.argv = (char *const *)(uintptr_t)spec->argv,
		.env = (char *const *)(uintptr_t)(spec->env ? spec->env : sandbox_default_env),
		.cwd = scratch,
		.in_r = in_p[0], .out_w = out_p[1], .err_w = err_p[1], .st_w = st_p[1],
		.unshare_net = !spec->no_network_namespace,
		.parent = getpid(),
		.as = limit_of(lim->memory_bytes),
		.fsize = limit_of(lim->file_bytes),
		.nofile = limit_of(lim->open_files > 0 ? (uint64_t)lim->open_files : 256),
		.core = {0, 0},
		.cpu = {RLIM_INFINITY, RLIM_INFINITY},
	};
	in_p[0] = out_p[1] = err_p[1] = st_p[1] = -1; /* owned by plan now */
	if (lim->cpu_seconds > 0) {
		plan.cpu.rlim_cur = (rlim_t)lim->cpu_seconds;
		plan.cpu.rlim_max = (rlim_t)lim->cpu_seconds + 1; /* SIGXCPU first, SIGKILL a second later */
	}
	snprintf(plan.uid_map, sizeof(plan.uid_map), "%u %u 1", (unsigned)geteuid(), (unsigned)geteuid());
	snprintf(plan.gid_map, sizeof(plan.gid_map), "%u %u 1", (unsigned)getegid(), (unsigned)getegid());

	/* a child that stops reading stdin must not kill the server with SIGPIPE */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
	mask_set = 1;

	rc = start_child(&plan, st_p[0], &pid, &res->network_cut, err);
	close_fd(&plan.in_r);
	close_fd(&plan.out_w);
	close_fd(&plan.err_w);
	close_fd(&plan.st_w);
	close_fd(&st_p[0]);
	if (rc)
		goto out;
	out.fd = out_p[0];
	er.fd = err_p[0];
	out_p[0] = err_p[0] = -1;
	set_nonblock(in_p[1]);
	set_nonblock(out.fd);
	set_nonblock(er.fd);
	if (!input_len)
		close_fd(&in_p[1]);

	int exited = 0;
	int64_t drain_until = 0, last_tick = start;
	for (;;) {
		int64_t t = now_ms();
		if (spec->tick && t - last_tick >= 1000) {
			spec->tick(spec->ctx);
			last_tick = t;
		}
		if (!exited && !killed && lim->timeout_ms > 0 && t - start >= lim->timeout_ms) {
			kill(-pid, SIGKILL);
			timed_out = killed = 1;
		}
		if (!exited && !killed && lim->rss_bytes && resident_bytes(pid) > lim->rss_bytes) {
			kill(-pid, SIGKILL);
			res->rss_killed = killed = 1;
		}
		if (!exited) {
			siginfo_t si;
			memset(&si, 0, sizeof(si));
			/* WNOWAIT: the zombie keeps the group id reserved while we kill stragglers */
			if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) {
				exited = 1;
				kill(-pid, SIGKILL);
				close_fd(&in_p[1]);
				drain_until = t + DRAIN_MS;
			}
		}
		if (exited && ((out.fd < 0 && er.fd < 0) || t >= drain_until))
			break;
		struct pollfd pf[3];
		int np = 0, i_in = -1, i_out = -1, i_err = -1;
		if (in_p[1] >= 0)
			i_in = np, pf[np++] = (struct pollfd){in_p[1], POLLOUT, 0};
		if (out.fd >= 0)
			i_out = np, pf[np++] = (struct pollfd){out.fd, POLLIN, 0};
		if (er.fd >= 0)
			i_err = np, pf[np++] = (struct pollfd){er.fd, POLLIN, 0};
		int wait = TICK_MS;
		if (!exited && !killed && lim->timeout_ms > 0 && lim->timeout_ms - (t - start) < wait)
			wait = (int)(lim->timeout_ms - (t - start));
		if (wait < 0)
			wait = 0;
		if (poll(pf, (nfds_t)np, wait) < 0 && errno != EINTR) {
			rc = bo_error_set(err, BO_EINTERNAL, "sandbox: poll: %s", strerror(errno));
			kill(-pid, SIGKILL);
			break;
		}
		if (i_in >= 0 && pf[i_in].revents) {
			ssize_t n = write(in_p[1], (const char *)input + written, input_len - written);
			if (n > 0)
				written += (size_t)n;
			else if (n < 0 && errno == EPIPE)
				epipe = 1;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input_len)
				close_fd(&in_p[1]);
		}
		if (i_out >= 0 && pf[i_out].revents) {
			capture_read(&out);
			if (out.over && !killed) {
				kill(-pid, SIGKILL);
				killed = 1;
				close_fd(&out.fd);
			}
		}
		if (i_err >= 0 && pf[i_err].revents)
			capture_read(&er);
	}
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	kill(-pid, SIGKILL);
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	res->wall_ms = now_ms() - start;
	res->cpu_ms = (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
		      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	res->peak_rss_kb = ru.ru_maxrss;
	res->out = out.buf ? out.buf : strdup("");
	res->out_len = out.len;
	res->errout = er.buf ? er.buf : strdup("");
	res->errout_len = er.len;
	res->errout_truncated = er.over;
	out.buf = er.buf = NULL;
	if (!res->out || !res->errout) {
		if (!rc)
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
	} else {
		res->out[res->out_len] = '\0';
		res->errout[res->errout_len] = '\0';
	}
	classify(res, lim, status, timed_out, out.over);
out:
	if (mask_set) {
		if (epipe) {
			struct timespec zero = {0, 0};
			while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
				;
		}
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	}
	close_fd(&in_p[0]);
	close_fd(&in_p[1]);
	close_fd(&out_p[0]);
	close_fd(&out_p[1]);
	close_fd(&err_p[0]);
	close_fd(&err_p[1]);
	close_fd(&st_p[0]);
	close_fd(&st_p[1]);
	close_fd(&out.fd);
	close_fd(&er.fd);
	free(out.buf);
	free(er.buf);
	return rc;
}

int sandbox_run(const struct sandbox_spec *spec, struct sandbox_result *res, struct bo_error *err)
{
	char scratch[4096];
	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	if (!spec->argv || !spec->argv[0] || spec->argv[0][0] != '/')
		return bo_error_set(err, BO_EINTERNAL, "sandbox: the program must be given by absolute path");
	int rc = make_scratch(spec->scratch_parent, scratch, sizeof(scratch), err);
	if (rc)
		return rc;
	const void *input = spec->input;
	size_t input_len = spec->input_len;
	if (spec->prepare)
		rc = spec->prepare(spec->ctx, scratch, &input, &input_len, err);
	if (!rc)
		rc = run_child(spec, scratch, input, input_len, res, err);
	if (!rc && spec->collect)
		rc = spec->collect(spec->ctx, scratch, err);
	if (sandbox_remove_tree(scratch) && !rc)
		rc = bo_error_set(err, BO_EINTERNAL, "cannot remove the scratch directory %s: %s", scratch,
				  strerror(errno));
	if (rc)
		sandbox_result_clear(res);
	return rc;
}

void sandbox_result_clear(struct sandbox_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->errout);
	res->out = res->errout = NULL;
	res->out_len = res->errout_len = 0;
}

static void human_bytes(uint64_t v, char *buf, size_t n)
{
	if (v >= (1ull << 30) && v % (1ull << 30) == 0)
		snprintf(buf, n, "%llu GiB", (unsigned long long)(v >> 30));
	else if (v >= (1ull << 20))
		snprintf(buf, n, "%llu MiB", (unsigned long long)(v >> 20));
	else
		snprintf(buf, n, "%llu bytes", (unsigned long long)v);
}

void sandbox_describe(const struct sandbox_result *res, const struct sandbox_limits *lim, char *buf, size_t n)
{
	char mem[32] = "no";
	const char *sig = res->signal ? sigabbrev_np(res->signal) : NULL;
	if (lim->memory_bytes)
		human_bytes(lim->memory_bytes, mem, sizeof(mem));
	switch (res->reason) {
	case SANDBOX_EXITED:
		snprintf(buf, n, "exited with status %d", res->exit_code);
		break;
	case SANDBOX_TIMEOUT:
		snprintf(buf, n, "timed out after %lld s (the limit) and was killed",
			 (long long)(lim->timeout_ms + 999) / 1000);
		break;
	case SANDBOX_CPU_LIMIT:
		snprintf(buf, n, "used its %lld s of CPU time (the limit) and was killed by SIG%s",
			 (long long)lim->cpu_seconds, sig ? sig : "KILL");
		break;
	case SANDBOX_MEMORY:
		if (res->rss_killed) {
			human_bytes(lim->rss_bytes, mem, sizeof(mem));
			snprintf(buf, n, "used more than %s of memory (the limit) and was killed", mem);
		} else if (res->signal)
			snprintf(buf, n, "killed by SIG%s, most likely out of memory under the %s address-space limit "
				 "(peak RSS %lld MiB)", sig ? sig : "?", mem, (long long)res->peak_rss_kb / 1024);
		else
			snprintf(buf, n, "exited with status %d after running out of memory under the %s "
				 "address-space limit", res->exit_code, mem);
		break;
	case SANDBOX_FILE_LIMIT:
		snprintf(buf, n, "wrote a file larger than the %llu-byte limit and was killed by SIGXFSZ",
			 (unsigned long long)lim->file_bytes);
		break;
	case SANDBOX_OUTPUT_LIMIT:
		snprintf(buf, n, "wrote more than %u bytes to stdout and was killed", SANDBOX_STDOUT_MAX);
		break;
	case SANDBOX_CRASHED:
		snprintf(buf, n, "crashed (killed by SIG%s)", sig ? sig : "?");
		break;
	}
}
