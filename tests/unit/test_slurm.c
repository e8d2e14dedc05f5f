/* Unit tests for slurm (infra): running a command by argv, and the parsers of sbatch,
 * squeue/sacct and scontrol answers; and the job-scoped worker token scope of auth. */
#include "check.h"

#include "common/error.h"
#include "domain/auth.h"
#include "infra/slurm.h"

static void test_slurm__parse_sbatch(void)
{
	check(slurm_parse_sbatch("123\n") == 123, "plain");
	check(slurm_parse_sbatch("77;cluster\n") == 77, "with cluster");
	check(slurm_parse_sbatch("sbatch: error: Batch job submission failed\n") == 0, "error text");
	check(slurm_parse_sbatch("12x\n") == 0, "trailing garbage");
	check(slurm_parse_sbatch("") == 0, "empty");
}

static void test_slurm__parse_state(void)
{
	char st[32];
	const char *sq = "11|RUNNING\n112|PENDING\n12|CANCELLED by 0\n";
	check(slurm_parse_state(sq, 11, st, sizeof(st)) && !strcmp(st, "RUNNING"), "11: %s", st);
	check(slurm_parse_state(sq, 112, st, sizeof(st)) && !strcmp(st, "PENDING"), "112 (not 11): %s", st);
	check(slurm_parse_state(sq, 12, st, sizeof(st)) && !strcmp(st, "CANCELLED"), "cut at the blank: %s", st);
	check(!slurm_parse_state(sq, 1, st, sizeof(st)), "1 is not 11");
	check(!slurm_parse_state("5|\n", 5, st, sizeof(st)), "no state");
	check(slurm_parse_state("9|COMPLETED|x", 9, st, sizeof(st)) && !strcmp(st, "COMPLETED"), "more fields");
}

static void test_slurm__parse_scontrol(void)
{
	char st[32];
	check(slurm_parse_scontrol("JobId=3 JobName=x UserId=root(0) JobState=TIMEOUT Reason=TimeLimit", st, sizeof(st)) &&
		      !strcmp(st, "TIMEOUT"),
	      "%s", st);
	check(!slurm_parse_scontrol("JobId=3 OldJobState=X", st, sizeof(st)), "only a whole key");
	check(slurm_state_final("NODE_FAIL") && slurm_state_final("COMPLETED") && !slurm_state_final("PENDING") &&
		      !slurm_state_final("COMPLETING") && !slurm_state_final(""),
	      "final states");
}

static void test_slurm__run(void)
{
	char out[64];
	struct bo_error err = BO_ERROR_INIT;
	/* an argument is never a shell string: ';' and '$' reach the program as they are */
	const char *echo[] = {"/bin/echo", "a;b", "$HOME", NULL};
	check(slurm_cmd_run(echo, out, sizeof(out), &err) == 0 && !strcmp(out, "a;b $HOME\n"), "echo: %s", out);
	const char *f[] = {"false", NULL};
	check(slurm_cmd_run(f, out, sizeof(out), &err) == 1, "exit status");
	const char *none[] = {"/nonexistent/sbatch", NULL};
	check(slurm_cmd_run(none, out, sizeof(out), &err) == BO_EINTERNAL, "missing program");
	bo_error_cleanup(&err);
	char small[4];
	const char *big[] = {"/bin/echo", "0123456789", NULL};
	check(slurm_cmd_run(big, small, sizeof(small), &err) == 0 && !strcmp(small, "012"), "cut: %s", small);
}

static void test_slurm__job_scope(void)
{
	check(auth_scope_job("worker:job:42") == 42, "42");
	check(auth_scope_job("worker") == 0 && auth_scope_job("worker:job:") == 0 && auth_scope_job("worker:job:04") == 0 &&
		      auth_scope_job("worker:job:4x") == 0 && auth_scope_job(NULL) == 0,
	      "malformed");
	check(auth_scope_valid("worker:job:42") && !auth_scope_valid("worker:job:x"), "valid");
	check(auth_scope_role("worker:job:42") == AUTH_ROLE_WORKER, "a worker");
}

static struct check_test tests[] = {
	TEST(test_slurm__parse_sbatch), TEST(test_slurm__parse_state), TEST(test_slurm__parse_scontrol),
	TEST(test_slurm__run),		TEST(test_slurm__job_scope),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }
