/* slurm: running Slurm's client commands and parsing their answers (slurm.h). */
#include "infra/slurm.h"

#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int slurm_cmd_run(const char *const argv[], char *out, size_t n, struct bo_error *err)
{
	int fds[2];
	pid_t pid;
	size_t got = 0;
	posix_spawn_file_actions_t fa;
	if (pipe2(fds, O_CLOEXEC))
		return bo_error_set(err, BO_EINTERNAL, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	/* posix_spawnp's argv is char *const[]: the strings are not written, so copy the pointers */
	char *args[SLURM_CMD_ARGS + 1];
	size_t na = 0;
	while (argv[na] && na < SLURM_CMD_ARGS)
		na++;
	memcpy(args, argv, na * sizeof(args[0]));
	args[na] = NULL;
	int rc = posix_spawnp(&pid, args[0], &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc) {
		close(fds[0]);
		return bo_error_set(err, BO_EINTERNAL, "cannot run %s: %s", argv[0], strerror(rc));
	}
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int timed_out = 0;
	for (;;) {
		struct pollfd p = {fds[0], POLLIN, 0};
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = SLURM_CMD_TIMEOUT * 1000L - ((now.tv_sec - t0.tv_sec) * 1000L + (now.tv_nsec - t0.tv_nsec) / 1000000L);
		if (left <= 0) {
			timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		char buf[4096];
		ssize_t k = read(fds[0], buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		size_t take = (size_t)k;
		if (n && got + take > n - 1)
			take = n - 1 - got;
		memcpy(out + got, buf, take);
		got += take;
	}
	close(fds[0]);
	if (n)
		out[got] = '\0';
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		return bo_error_set(err, BO_EINTERNAL, "%s did not answer within %d s", argv[0], SLURM_CMD_TIMEOUT);
	if (WIFSIGNALED(status))
		return bo_error_set(err, BO_EINTERNAL, "%s was killed by signal %d", argv[0], WTERMSIG(status));
	if (WEXITSTATUS(status) == 127)
		return bo_error_set(err, BO_EINTERNAL, "%s could not be run (exit 127)", argv[0]);
	return WEXITSTATUS(status);
}

static int64_t leading_id(const char *s, const char **end)
{
	int64_t v = 0;
	int digits = 0;
	while (*s >= '0' && *s <= '9' && digits < 18) {
		v = v * 10 + (*s++ - '0');
		digits++;
	}
	*end = s;
	return digits ? v : 0;
}

int64_t slurm_parse_sbatch(const char *text)
{
	const char *end;
	while (*text == ' ' || *text == '\n')
		text++;
	int64_t id = leading_id(text, &end);
	return id > 0 && (*end == '\0' || *end == '\n' || *end == ';') ? id : 0;
}

static void copy_word(const char *s, char *out, size_t n)
{
	size_t k = 0;
	while (s[k] && s[k] != ' ' && s[k] != '|' && s[k] != '\n' && s[k] != '+' && k + 1 < n) {
		out[k] = s[k];
		k++;
	}
	out[k] = '\0';
}

int slurm_parse_state(const char *text, int64_t id, char *state, size_t n)
{
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *end;
		while (*line == ' ')
			line++;
		if (leading_id(line, &end) == id && *end == '|' && end[1] && end[1] != '\n') {
			copy_word(end + 1, state, n);
			return state[0] != '\0';
		}
	}
	return 0;
}

int slurm_parse_scontrol(const char *text, char *state, size_t n)
{
	for (const char *p = strstr(text, "JobState="); p; p = strstr(p + 1, "JobState="))
		if (p == text || p[-1] == ' ' || p[-1] == '\n') {
			copy_word(p + 9, state, n);
			return state[0] != '\0';
		}
	return 0;
}

int slurm_state_final(const char *state)
{
	static const char *const final[] = {"COMPLETED", "FAILED",   "CANCELLED", "TIMEOUT",      "NODE_FAIL",
					    "PREEMPTED", "BOOT_FAIL", "DEADLINE",  "OUT_OF_MEMORY", "SPECIAL_EXIT"};
	for (size_t i = 0; i < sizeof(final) / sizeof(final[0]); i++)
		if (!strcmp(state, final[i]))
			return 1;
	return 0;
}
