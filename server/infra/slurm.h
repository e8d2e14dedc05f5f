/* slurm: Slurm's client commands as the server runs them (test_runner=slurm,
 * pipeline/slurm): each is fork/exec'd (posix_spawnp) with an argv — never a shell — with
 * stdin from /dev/null, its output captured and a time limit, and the parsers of the
 * machine-readable outputs we ask for (sbatch --parsable, squeue/sacct --noheader with
 * '|'-separated fields, scontrol -o). */
#ifndef BO_SLURM_H
#define BO_SLURM_H

#include <stddef.h>
#include <stdint.h>

struct bo_error;

/* Seconds a Slurm command may take before it is killed (a hung slurmctld). */
#define SLURM_CMD_TIMEOUT 30
/* Most arguments of one command (more are dropped). */
#define SLURM_CMD_ARGS 31

/* Runs argv (argv[0] a path or a name looked up in PATH; NULL-terminated) and puts its
 * stdout and stderr (NUL-terminated, cut at n - 1 bytes) into out. Returns the exit status
 * (0..255), or BO_EINTERNAL (err says why: not found, killed by a signal, timed out). */
int slurm_cmd_run(const char *const argv[], char *out, size_t n, struct bo_error *err);

/* The job id at the start of sbatch --parsable's answer ("123" or "123;cluster"), else 0. */
int64_t slurm_parse_sbatch(const char *text);

/* The state of job id in lines "<id>|<state>[|…]" (squeue --noheader --format=%i|%T,
 * sacct --noheader --parsable2 --format=JobIDRaw,State) into state (n bytes; a state such
 * as "CANCELLED by 0" is cut at its first blank). 1 when found, else 0. */
int slurm_parse_state(const char *text, int64_t id, char *state, size_t n);

/* The JobState= of scontrol show job -o output into state. 1 when found, else 0. */
int slurm_parse_scontrol(const char *text, char *state, size_t n);

/* Whether a job in this state has ended (COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL,
 * PREEMPTED, BOOT_FAIL, DEADLINE, OUT_OF_MEMORY); PENDING, RUNNING, COMPLETING, … have not. */
int slurm_state_final(const char *state);

#endif
