/* sandbox: fork + exec of one untrusted program with limits, and the parent's loop that
 * feeds stdin, collects stdout/stderr with poll, and enforces the wall clock. Between
 * fork and exec the child only makes async-signal-safe calls (the server has threads);
 * every string it needs is built before fork. Invariant: when sandbox_run returns, the
 * child's whole process group is dead and reaped and the scratch directory is gone. */
#include "infra/sandbox.h"

#include "common/error.h"

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
#define SANDBOX_PRLIMIT "/usr/bin/prlimit" /* util-linux (Essential in Debian) */
#define STATUS_MAX 4096     /* bytes of bwrap's JSON status we keep */

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

#define PASS_FDS_MAX (SANDBOX_JAIL_FILES_MAX + 6) /* descriptors bwrap gets, from fd 4 on */
#define HIGH_FD 32 /* where the child parks descriptors before numbering them */

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
	/* the jail: bwrap is path/argv; pass[i] becomes fd 4 + i in the child */
	int jail, drop;
	unsigned uid, gid;
	int pass[PASS_FDS_MAX];
	int npass;
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
	return fcntl(fd, F_DUPFD, HIGH_FD);
}

/* A server running as root becomes the jail's uid before bwrap: raw system calls, since
 * this is the only thread of the child and glibc's wrappers would try to signal the
 * parent's other threads. Then no_new_privs, so nothing exec'd can gain rights. */
static int child_drop(const struct child_plan *p)
{
	if (p->drop && (syscall(SYS_setgroups, 0, NULL) || syscall(SYS_setresgid, p->gid, p->gid, p->gid) ||
			syscall(SYS_setresuid, p->uid, p->uid, p->uid)))
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
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
	int pass[PASS_FDS_MAX];
	if (in_r < 0 || out_w < 0 || err_w < 0 || st_w < 0)
		_exit(127);
	for (int i = 0; i < p->npass; i++)
		if ((pass[i] = child_high_fd(p->pass[i])) < 0)
			_exit(127);
	if (dup2(in_r, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0 || dup3(st_w, 3, O_CLOEXEC) < 0)
		_exit(127);
	/* dup2 leaves the new descriptors open across exec: bwrap reads them */
	for (int i = 0; i < p->npass; i++)
		if (dup2(pass[i], 4 + i) < 0)
			_exit(127);
	child_close_from(4 + p->npass);

	char net = 'n';
	if (p->jail) {
		/* bwrap makes every namespace; it runs unprivileged */
		if (child_drop(p)) {
			child_report(3, 'U', errno);
			_exit(127);
		}
		net = 'N';
	} else if (p->unshare_net) {
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

/* ---------------------------------------------------------------- the jail's plan */

#define JAIL_ARGS_MAX 128
#define JAIL_STRS_MAX 48

/* bwrap's command line and the descriptors it reads, built before fork. */
struct jail_plan {
	char *argv[JAIL_ARGS_MAX];
	int argc;
	char *owned[JAIL_STRS_MAX]; /* strings of argv this plan allocated */
	int nowned;
	int fds[PASS_FDS_MAX];      /* fds[i] is fd 4 + i in the child */
	int nfds;
	int status_r;               /* bwrap's --json-status-fd, read side */
	int overflow;
};

static void jail_arg(struct jail_plan *jp, const char *a)
{
	if (jp->argc >= JAIL_ARGS_MAX - 1) {
		jp->overflow = 1;
		return;
	}
	jp->argv[jp->argc++] = (char *)(uintptr_t)a; /* execve's prototype; never written */
}

static const char *jail_own(struct jail_plan *jp, char *str)
{
	if (!str || jp->nowned >= JAIL_STRS_MAX) {
		free(str);
		jp->overflow = 1;
		return "";
	}
	jp->owned[jp->nowned++] = str;
	return str;
}

static const char *jail_number(struct jail_plan *jp, unsigned long long v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%llu", v);
	return jail_own(jp, strdup(buf));
}

/* Hands fd to bwrap; returns its number in the child ("" on overflow). */
static const char *jail_fd(struct jail_plan *jp, int fd)
{
	if (fd < 0 || jp->nfds >= PASS_FDS_MAX) {
		if (fd >= 0)
			close(fd);
		jp->overflow = 1;
		return "";
	}
	jp->fds[jp->nfds] = fd;
	return jail_number(jp, (unsigned long long)(4 + jp->nfds++));
}

/* A pipe holding text, for bwrap's --ro-bind-data (far below the pipe's capacity). */
static int data_pipe(const char *text)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -1;
	size_t len = strlen(text);
	ssize_t n = write(p[1], text, len);
	close(p[1]);
	if (n < 0 || (size_t)n != len) {
		close(p[0]);
		return -1;
	}
	return p[0];
}

static void jail_plan_clear(struct jail_plan *jp)
{
	for (int i = 0; i < jp->nowned; i++)
		free(jp->owned[i]);
	for (int i = 0; i < jp->nfds; i++)
		close(jp->fds[i]);
	if (jp->status_r >= 0)
		close(jp->status_r);
	memset(jp, 0, sizeof(*jp));
	jp->status_r = -1;
}

/* The system part of the root: /usr read-only and the top-level links into it (merged
 * /usr), or the directories themselves on a system without it. */
static void jail_system(struct jail_plan *jp)
{
	static const char *const tops[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};
	jail_arg(jp, "--ro-bind");
	jail_arg(jp, "/usr");
	jail_arg(jp, "/usr");
	for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
		struct stat st;
		char target[PATH_MAX];
		if (lstat(tops[i], &st))
			continue;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(tops[i], target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			jail_arg(jp, "--symlink");
			jail_arg(jp, jail_own(jp, strdup(target)));
		} else if (S_ISDIR(st.st_mode)) {
			jail_arg(jp, "--ro-bind");
			jail_arg(jp, tops[i]);
		} else
			continue;
		jail_arg(jp, tops[i]);
	}
	/* /etc: only what the dynamic linker needs (the library cache; Debian's alternatives
	 * hold the links to the BLAS the runtimes load) and a passwd/group naming the jail's
	 * user. Nothing else of the host's /etc exists inside. */
	static const char *const etc[] = {"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
					  "/etc/alternatives"};
	for (size_t i = 0; i < sizeof(etc) / sizeof(etc[0]); i++) {
		if (access(etc[i], F_OK))
			continue;
		jail_arg(jp, "--ro-bind");
		jail_arg(jp, etc[i]);
		jail_arg(jp, etc[i]);
	}
	jail_arg(jp, "--ro-bind-data");
	jail_arg(jp, jail_fd(jp, data_pipe("jail:x:65534:65534:sandboxed test:/tmp:/usr/sbin/nologin\n")));
	jail_arg(jp, "/etc/passwd");
	jail_arg(jp, "--ro-bind-data");
	jail_arg(jp, jail_fd(jp, data_pipe("jail:x:65534:\n")));
	jail_arg(jp, "/etc/group");
}

static int jail_build(struct jail_plan *jp, const struct sandbox_spec *spec, const char *scratch,
		      struct bo_error *err)
{
	const struct sandbox_jail *j = spec->jail;
	char out[4096];
	int st[2];
	memset(jp, 0, sizeof(*jp));
	jp->status_r = -1;
	jail_arg(jp, j->bwrap);
	/* every namespace; no user namespaces inside; killed with us; a session of its own
	 * (no TIOCSTI into a terminal); no capabilities even inside */
	static const char *const base[] = {"--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
					   "--new-session", "--cap-drop", "ALL", "--uid", "65534", "--gid", "65534",
					   "--hostname", "jail"};
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		jail_arg(jp, base[i]);
	jail_system(jp);
	jail_arg(jp, "--proc");
	jail_arg(jp, "/proc");
	jail_arg(jp, "--dev");
	jail_arg(jp, "/dev");
	if (j->tmp_bytes) {
		jail_arg(jp, "--size");
		jail_arg(jp, jail_number(jp, (unsigned long long)j->tmp_bytes));
	}
	jail_arg(jp, "--tmpfs");
	jail_arg(jp, "/tmp");
	/* by descriptor: the jail's uid need not be able to reach the scratch by its path */
	jail_arg(jp, "--ro-bind-fd");
	jail_arg(jp, jail_fd(jp, open(scratch, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)));
	jail_arg(jp, SANDBOX_JOB_DIR);
	if ((size_t)snprintf(out, sizeof(out), "%s/out", scratch) < sizeof(out) && !access(out, F_OK)) {
		jail_arg(jp, "--bind-fd");
		jail_arg(jp, jail_fd(jp, open(out, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)));
		jail_arg(jp, SANDBOX_JOB_DIR "/out");
	}
	for (int i = 0; i < SANDBOX_JAIL_FILES_MAX && j->files[i]; i++) {
		if (j->files[i][0] != '/') {
			jail_plan_clear(jp);
			return bo_error_set(err, BO_EINTERNAL, "sandbox: %s is not an absolute path", j->files[i]);
		}
		int fd = open(j->files[i], O_PATH | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			jail_plan_clear(jp);
			return bo_error_set(err, BO_EINTERNAL, "sandbox: cannot open %s: %s", j->files[i], strerror(e));
		}
		jail_arg(jp, "--ro-bind-fd");
		jail_arg(jp, jail_fd(jp, fd));
		jail_arg(jp, j->files[i]);
	}
	jail_arg(jp, "--chdir");
	jail_arg(jp, "/tmp");
	if (pipe2(st, O_CLOEXEC)) {
		jail_plan_clear(jp);
		return bo_error_set(err, BO_EINTERNAL, "cannot create a pipe for the sandbox: %s", strerror(errno));
	}
	jp->status_r = st[0];
	jail_arg(jp, "--json-status-fd");
	jail_arg(jp, jail_fd(jp, st[1]));
	if (j->processes > 0) {
		/* set inside the jail's user namespace, where the count is the jail's own */
		char buf[64];
		snprintf(buf, sizeof(buf), "--nproc=%lld:%lld", (long long)j->processes, (long long)j->processes);
		jail_arg(jp, SANDBOX_PRLIMIT);
		jail_arg(jp, jail_own(jp, strdup(buf)));
		jail_arg(jp, "--");
	}
	for (int i = 0; spec->argv[i]; i++)
		jail_arg(jp, spec->argv[i]);
	jp->argv[jp->argc] = NULL;
	if (jp->overflow) {
		jail_plan_clear(jp);
		return bo_error_set(err, BO_EINTERNAL, "sandbox: cannot build the jail (out of memory or descriptors)");
	}
	return 0;
}

/* Gives the scratch tree to the jail's uid (a root server drops to it): nothing of it is
 * reachable by path from outside the data directory, and the jail needs to read it. */
static int chown_tree(int at, const char *name, unsigned uid, unsigned gid, int depth)
{
	if (fchownat(at, name, uid, gid, AT_SYMLINK_NOFOLLOW))
		return -1;
	struct stat st;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(st.st_mode))
		return 0;
	if (depth > REMOVE_MAX_DEPTH) {
		errno = ELOOP;
		return -1;
	}
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while (!rc && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rc = chown_tree(dirfd(d), e->d_name, uid, gid, depth + 1);
	closedir(d);
	return rc;
}

/* Bytes under dir (allocated blocks, so sparse files count what they use), or UINT64_MAX
 * when it holds more than a few thousand entries (more is itself an abuse). */
static uint64_t tree_bytes(int at, const char *name, int depth, int *entries)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	uint64_t sum = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (++*entries > 4096 || depth > 16) {
			sum = UINT64_MAX;
			break;
		}
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		sum += (uint64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode)) {
			uint64_t sub = tree_bytes(dirfd(d), e->d_name, depth + 1, entries);
			sum = sub == UINT64_MAX ? UINT64_MAX : sum + sub;
			if (sum == UINT64_MAX)
				break;
		}
	}
	closedir(d);
	return sum;
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

/* Proportional resident bytes of pid (Pss: pages shared with its forks count once over
 * all of them, so a tree of forks is not charged many times for the same pages), or its
 * RSS where smaps_rollup is missing; 0 when it cannot be read (the process is gone). */
static uint64_t resident_bytes(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		const char *pss = strstr(buf, "\nPss:");
		unsigned long long kb = 0;
		if (pss && sscanf(pss + 5, "%llu", &kb) == 1)
			return (uint64_t)kb * 1024;
	}
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
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

/* Resident bytes of pid and its descendants (children lists of /proc; a tree deeper or
 * wider than a test worker's is cut off, which only undercounts). */
static uint64_t tree_resident_bytes(pid_t pid, int depth, int *visited)
{
	char path[64], buf[4096];
	uint64_t sum = resident_bytes(pid);
	if (depth > 8 || ++*visited > 512)
		return sum;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sum;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return sum;
	buf[n] = '\0';
	for (char *p = buf, *end; *p; p = end) {
		long c = strtol(p, &end, 10);
		if (end == p)
			break;
		if (c > 0)
			sum += tree_resident_bytes((pid_t)c, depth + 1, visited);
	}
	return sum;
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
		     int timed_out, int output_over, int out_over)
{
	int near_as = lim->memory_bytes && (uint64_t)res->peak_rss_kb * 1024 >= lim->memory_bytes / 4 * 3;
	int memory_hint = lim->memory_bytes && (near_as || mentions_memory(res->errout));
	res->exit_code = -1;
	res->signal = 0;
	if (WIFEXITED(status))
		res->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		res->signal = WTERMSIG(status);
	if (res->jailed && WIFEXITED(status) && res->exit_code > 128 && res->exit_code < 128 + NSIG) {
		/* bwrap exits 128 + N when its child died by signal N (the worker itself exits
		 * 0..2): judge it as that signal */
		res->signal = res->exit_code - 128;
		res->exit_code = -1;
		status = res->signal; /* a wait status "killed by signal N" */
	}
	if (timed_out)
		res->reason = SANDBOX_TIMEOUT;
	else if (output_over)
		res->reason = SANDBOX_OUTPUT_LIMIT;
	else if (out_over)
		res->reason = SANDBOX_OUT_LIMIT;
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
			   : buf[1] == 'U'      ? "cannot drop to the jail's uid"
			   : buf[1] == 'R'      ? "cannot set resource limits"
						: "cannot execute";
	return bo_error_set(err, BO_EINTERNAL, "sandbox: %s %s: %s", what, plan->path,
			    code ? strerror(code) : "unknown reason");
}

/* The child's plan outside the jail: the program, its ends of the pipes (owned by the plan
 * from here), a network namespace of its own unless the spec says not, and spec->limits as
 * rlimits. */
static void plan_child(struct child_plan *plan, const struct sandbox_spec *spec, const char *scratch, int in_r,
		       int out_w, int err_w, int st_w)
{
	const struct sandbox_limits *lim = &spec->limits;
	*plan = (struct child_plan){
		.path = spec->argv[0],
		/* execve's prototype is not const-correct; the strings are not written */
		.argv = (char *const *)(uintptr_t)spec->argv,
		.env = (char *const *)(uintptr_t)(spec->env ? spec->env : sandbox_default_env),
		.cwd = scratch,
		.in_r = in_r, .out_w = out_w, .err_w = err_w, .st_w = st_w,
		.unshare_net = !spec->no_network_namespace,
		.parent = getpid(),
		.as = limit_of(lim->memory_bytes),
		.fsize = limit_of(lim->file_bytes),
		.nofile = limit_of(lim->open_files > 0 ? (uint64_t)lim->open_files : 256),
		.core = {0, 0},
		.cpu = {RLIM_INFINITY, RLIM_INFINITY},
	};
	if (lim->cpu_seconds > 0) {
		plan->cpu.rlim_cur = (rlim_t)lim->cpu_seconds;
		plan->cpu.rlim_max = (rlim_t)lim->cpu_seconds + 1; /* SIGXCPU first, SIGKILL a second later */
	}
	snprintf(plan->uid_map, sizeof(plan->uid_map), "%u %u 1", (unsigned)geteuid(), (unsigned)geteuid());
	snprintf(plan->gid_map, sizeof(plan->gid_map), "%u %u 1", (unsigned)getegid(), (unsigned)getegid());
}

/* Makes plan run the program in bwrap's jail (jp holds bwrap's arguments and the
 * descriptors it is given), as the jail's uid when we are root. A missing bwrap is a
 * verdict, not a failure of ours: *unavailable = 1 with res filled, and the program does
 * not run unconfined. Returns 0, BO_ENOMEM, or jail_build's BO_EINTERNAL. */
static int plan_jail(struct child_plan *plan, struct jail_plan *jp, const struct sandbox_spec *spec,
		     const char *scratch, struct sandbox_result *res, int *unavailable, struct bo_error *err)
{
	const char *bw = spec->jail->bwrap;
	struct stat bst;
	if (!bw || bw[0] != '/' || stat(bw, &bst) || !S_ISREG(bst.st_mode) || access(bw, X_OK)) {
		char why[512];
		snprintf(why, sizeof(why), "%s is not installed (apt-get install bubblewrap)\n", bw ? bw : "bwrap");
		res->jailed = 1;
		res->reason = SANDBOX_UNAVAILABLE;
		res->out = strdup("");
		res->errout = strdup(why);
		res->errout_len = res->errout ? strlen(res->errout) : 0;
		*unavailable = 1;
		if (!res->out || !res->errout)
			return bo_error_set(err, BO_ENOMEM, "out of memory");
		return 0;
	}
	int rc = jail_build(jp, spec, scratch, err);
	if (rc)
		return rc;
	plan->path = jp->argv[0];
	plan->argv = jp->argv;
	plan->cwd = "/";
	plan->jail = 1;
	plan->drop = geteuid() == 0;
	plan->uid = spec->jail->uid;
	plan->gid = spec->jail->gid;
	memcpy(plan->pass, jp->fds, sizeof(int) * (size_t)jp->nfds);
	plan->npass = jp->nfds;
	res->jailed = 1;
	return 0;
}

/* One run between the child's start and its reaping: what the parent's loop watches and
 * what the verdict is made of. */
struct run {
	const struct sandbox_spec *spec;
	const struct sandbox_limits *lim;
	const void *input;
	size_t input_len, written;
	pid_t pid;
	int in_w; /* the child's stdin; -1 once closed */
	struct capture out, er;
	int64_t start, last_tick, last_out, drain_until;
	int exited, killed, timed_out, out_over, epipe;
	char out_dir[4096 + 8];
};

/* The limits the parent enforces while the child runs (size of out/, wall clock, resident
 * memory: the first one passed kills the whole group), the spec's tick about once a
 * second, and whether the child has exited (then its stragglers are killed and stdin
 * closed, and the pipes may drain for DRAIN_MS). */
static void watch_child(struct run *r, struct sandbox_result *res, int64_t t)
{
	const struct sandbox_limits *lim = r->lim;
	if (!r->exited && !r->killed && lim->out_bytes && t - r->last_out >= TICK_MS) {
		int entries = 0;
		r->last_out = t;
		if (tree_bytes(AT_FDCWD, r->out_dir, 0, &entries) > lim->out_bytes) {
			kill(-r->pid, SIGKILL);
			r->out_over = r->killed = 1;
		}
	}
	if (r->spec->tick && t - r->last_tick >= 1000) {
		r->spec->tick(r->spec->ctx);
		r->last_tick = t;
	}
	if (!r->exited && !r->killed && lim->timeout_ms > 0 && t - r->start >= lim->timeout_ms) {
		kill(-r->pid, SIGKILL);
		r->timed_out = r->killed = 1;
	}
	int visited = 0;
	if (!r->exited && !r->killed && lim->rss_bytes && tree_resident_bytes(r->pid, 0, &visited) > lim->rss_bytes) {
		kill(-r->pid, SIGKILL);
		res->rss_killed = r->killed = 1;
	}
	if (!r->exited) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		/* WNOWAIT: the zombie keeps the group id reserved while we kill stragglers */
		if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == r->pid) {
			r->exited = 1;
			kill(-r->pid, SIGKILL);
			close_fd(&r->in_w);
			r->drain_until = t + DRAIN_MS;
		}
	}
}

/* One poll of the pipes, at most TICK_MS (less when the wall clock ends sooner), then stdin
 * fed and stdout/stderr captured as far as they go without blocking; stdout past its
 * maximum kills the group. Returns 0, or BO_EINTERNAL when poll fails (the group is
 * killed). */
static int pump_pipes(struct run *r, int64_t t, struct bo_error *err)
{
	const struct sandbox_limits *lim = r->lim;
	struct pollfd pf[3];
	int np = 0, i_in = -1, i_out = -1, i_err = -1;
	if (r->in_w >= 0)
		i_in = np, pf[np++] = (struct pollfd){r->in_w, POLLOUT, 0};
	if (r->out.fd >= 0)
		i_out = np, pf[np++] = (struct pollfd){r->out.fd, POLLIN, 0};
	if (r->er.fd >= 0)
		i_err = np, pf[np++] = (struct pollfd){r->er.fd, POLLIN, 0};
	int wait = TICK_MS;
	if (!r->exited && !r->killed && lim->timeout_ms > 0 && lim->timeout_ms - (t - r->start) < wait)
		wait = (int)(lim->timeout_ms - (t - r->start));
	if (wait < 0)
		wait = 0;
	if (poll(pf, (nfds_t)np, wait) < 0 && errno != EINTR) {
		int rc = bo_error_set(err, BO_EINTERNAL, "sandbox: poll: %s", strerror(errno));
		kill(-r->pid, SIGKILL);
		return rc;
	}
	if (i_in >= 0 && pf[i_in].revents) {
		ssize_t n = write(r->in_w, (const char *)r->input + r->written, r->input_len - r->written);
		if (n > 0)
			r->written += (size_t)n;
		else if (n < 0 && errno == EPIPE)
			r->epipe = 1;
		if ((n < 0 && errno != EAGAIN && errno != EINTR) || r->written == r->input_len)
			close_fd(&r->in_w);
	}
	if (i_out >= 0 && pf[i_out].revents) {
		capture_read(&r->out);
		if (r->out.over && !r->killed) {
			kill(-r->pid, SIGKILL);
			r->killed = 1;
			close_fd(&r->out.fd);
		}
	}
	if (i_err >= 0 && pf[i_err].revents)
		capture_read(&r->er);
	return 0;
}

/* The parent's loop: until the child has exited and its pipes are drained, or DRAIN_MS
 * after its exit (stragglers may hold them). Returns 0 or pump_pipes' failure. */
static int supervise(struct run *r, struct sandbox_result *res, struct bo_error *err)
{
	r->last_tick = r->last_out = r->start;
	for (;;) {
		int64_t t = now_ms();
		watch_child(r, res, t);
		if (r->exited && ((r->out.fd < 0 && r->er.fd < 0) || t >= r->drain_until))
			return 0;
		int rc = pump_pipes(r, t, err);
		if (rc)
			return rc;
	}
}

/* Kills what is left of the group, reaps the child (its wait status into *status) and moves
 * its times, peak memory and captured output into res. -1 when an output could not be
 * allocated, else 0. */
static int reap_child(struct run *r, struct sandbox_result *res, int *status)
{
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	kill(-r->pid, SIGKILL);
	while (wait4(r->pid, status, 0, &ru) < 0 && errno == EINTR)
		;
	res->wall_ms = now_ms() - r->start;
	res->cpu_ms = (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
		      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	res->peak_rss_kb = ru.ru_maxrss;
	res->out = r->out.buf ? r->out.buf : strdup("");
	res->out_len = r->out.len;
	res->errout = r->er.buf ? r->er.buf : strdup("");
	res->errout_len = r->er.len;
	res->errout_truncated = r->er.over;
	r->out.buf = r->er.buf = NULL;
	if (!res->out || !res->errout)
		return -1;
	res->out[res->out_len] = '\0';
	res->errout[res->errout_len] = '\0';
	return 0;
}

/* {"child-pid": N, …} once bwrap has made the jail and started its init, then
 * {"exit-code": …}: a few hundred bytes, far below a pipe's capacity, so it is read once the
 * child is gone, into buf (STATUS_MAX + 1 bytes; NUL-terminated). */
static void read_jail_status(int fd, char *buf)
{
	size_t len = 0;
	ssize_t n;
	while (len < STATUS_MAX && (n = read(fd, buf + len, STATUS_MAX - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
}

static int run_child(const struct sandbox_spec *spec, const char *scratch, const void *input, size_t input_len,
		     struct sandbox_result *res, struct bo_error *err)
{
	int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, st_p[2] = {-1, -1};
	struct run r = {
		.spec = spec,
		.lim = &spec->limits,
		.input = input,
		.input_len = input_len,
		.pid = -1,
		.in_w = -1,
		.out = {.fd = -1, .max = SANDBOX_STDOUT_MAX},
		.er = {.fd = -1, .max = SANDBOX_STDERR_MAX},
		.start = now_ms(),
	};
	sigset_t pipe_set, old_mask;
	int rc = 0, status = 0, mask_set = 0, unavailable = 0;
	struct jail_plan jp = {.status_r = -1};
	struct child_plan plan;
	char jstatus[STATUS_MAX + 1] = "";
	snprintf(r.out_dir, sizeof(r.out_dir), "%s/out", scratch);

	if (pipe2(in_p, O_CLOEXEC) || pipe2(out_p, O_CLOEXEC) || pipe2(err_p, O_CLOEXEC) || pipe2(st_p, O_CLOEXEC)) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot create pipes for the sandbox: %s", strerror(errno));
		goto out;
	}
	plan_child(&plan, spec, scratch, in_p[0], out_p[1], err_p[1], st_p[1]);
	in_p[0] = out_p[1] = err_p[1] = st_p[1] = -1; /* owned by plan now */
	if (spec->jail) {
		rc = plan_jail(&plan, &jp, spec, scratch, res, &unavailable, err);
		if (rc || unavailable) {
			/* no child will get the plan's ends of the pipes */
			close_fd(&plan.in_r);
			close_fd(&plan.out_w);
			close_fd(&plan.err_w);
			close_fd(&plan.st_w);
			goto out;
		}
	}

	/* a child that stops reading stdin must not kill the server with SIGPIPE */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
	mask_set = 1;

	rc = start_child(&plan, st_p[0], &r.pid, &res->network_cut, err);
	for (int i = 0; i < jp.nfds; i++)
		close_fd(&jp.fds[i]); /* the child has its copies */
	jp.nfds = 0;
	close_fd(&plan.in_r);
	close_fd(&plan.out_w);
	close_fd(&plan.err_w);
	close_fd(&plan.st_w);
	close_fd(&st_p[0]);
	if (rc)
		goto out;
	if (jp.status_r >= 0)
		set_nonblock(jp.status_r);
	r.in_w = in_p[1];
	r.out.fd = out_p[0];
	r.er.fd = err_p[0];
	in_p[1] = out_p[0] = err_p[0] = -1;
	set_nonblock(r.in_w);
	set_nonblock(r.out.fd);
	set_nonblock(r.er.fd);
	if (!input_len)
		close_fd(&r.in_w);

	rc = supervise(&r, res, err);
	if (reap_child(&r, res, &status) && !rc)
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
	if (jp.status_r >= 0)
		read_jail_status(jp.status_r, jstatus);
	classify(res, r.lim, status, r.timed_out, r.out.over, r.out_over);
	if (res->jailed && !strstr(jstatus, "\"child-pid\":") && !r.timed_out)
		res->reason = SANDBOX_UNAVAILABLE; /* bwrap could not make the jail; errout says why */
out:
	jail_plan_clear(&jp);
	if (mask_set) {
		if (r.epipe) {
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
	close_fd(&r.in_w);
	close_fd(&r.out.fd);
	close_fd(&r.er.fd);
	free(r.out.buf);
	free(r.er.buf);
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
		rc = spec->prepare(spec->ctx, scratch, spec->jail ? SANDBOX_JOB_DIR : scratch, &input, &input_len, err);
	if (!rc && spec->jail && geteuid() == 0 &&
	    chown_tree(AT_FDCWD, scratch, spec->jail->uid, spec->jail->gid, 0))
		rc = bo_error_set(err, BO_EINTERNAL, "cannot give the scratch directory %s to uid %u: %s", scratch,
				  spec->jail->uid, strerror(errno));
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
	case SANDBOX_OUT_LIMIT:
		human_bytes(lim->out_bytes, mem, sizeof(mem));
		snprintf(buf, n, "wrote more than %s into its output directory (the limit) and was killed", mem);
		break;
	case SANDBOX_UNAVAILABLE:
		snprintf(buf, n, "did not run: sandbox unavailable (%.*s)", (int)strcspn(res->errout ? res->errout : "", "\n"),
			 res->errout ? res->errout : "");
		break;
	}
}

int sandbox_probe_jail(const struct sandbox_jail *jail, struct bo_error *err)
{
	const char *argv[] = {"/usr/bin/true", NULL};
	struct sandbox_spec spec = {.argv = argv, .jail = jail, .limits = {.timeout_ms = 30000}};
	struct sandbox_result res;
	int rc = sandbox_run(&spec, &res, err);
	if (rc)
		return rc;
	if (res.reason != SANDBOX_EXITED || res.exit_code != 0) {
		char why[512];
		sandbox_describe(&res, &spec.limits, why, sizeof(why));
		rc = bo_error_set(err, BO_EINTERNAL, "the jail %s", why);
	}
	sandbox_result_clear(&res);
	return rc;
}

int sandbox_remove_stale(const char *parent)
{
	DIR *d = opendir(parent);
	int n = 0, rc = 0;
	if (!d)
		return errno == ENOENT ? 0 : -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "bo-sandbox-", 11))
			continue;
		if (remove_at(dirfd(d), e->d_name, 0))
			rc = -1;
		else
			n++;
	}
	closedir(d);
	return rc ? -1 : n;
}
