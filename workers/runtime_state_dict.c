/* runtime_state_dict: the `pytorch_state_dict` weight format. A state dict is only weights;
 * the model is the package's Python architecture, so it runs in a /usr/bin/python3 child
 * (state_dict_runner.py, compiled into this binary) that loads the weights with
 * torch.load(weights_only=True) and answers one JSON line per request over a socket.
 * Tensors travel as .npy files in the scratch directory. Invariant: the child dies with
 * the worker (PDEATHSIG) and never sees the worker's other descriptors. */
#include "runtime.h"

#include "common/error.h"
#include "common/npy.h"
#include "common/rdf.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The runner script, embedded at build time (the object depends on the .py in the
 * Makefile) so the worker needs no install path and cannot pick up a stale copy. */
__asm__(".pushsection .rodata\n"
	".global bo_state_dict_runner_py\n"
	".hidden bo_state_dict_runner_py\n"
	"bo_state_dict_runner_py:\n"
	".incbin \"workers/state_dict_runner.py\"\n"
	".byte 0\n"
	".popsection\n");
extern const char bo_state_dict_runner_py[];

#define REPLY_MAX (64 * 1024)         /* one JSON reply line from the child */
#define OUTPUT_MAX_BYTES (1UL << 30)  /* one produced tensor (PROTOCOL's max_tensor_bytes) */
#define MAX_INPUT_NAMES 64

struct runtime {
	pid_t pid;
	int sock;
	unsigned runs;
	char scratch[2048];
	char version[96];
	char *names[MAX_INPUT_NAMES];
	size_t nnames;
};

/* ---------------------------------------------------------------- the architecture */

/* Reads a whole small file (at most max bytes) into a NUL-terminated buffer. */
static int read_file(const char *path, size_t max, char **out, size_t *len, struct bo_error *err)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	f = fopen(path, "rb");
	if (!f) {
		rc = bo_error_set(err, errno == ENOENT ? BO_EINVALIDPACKAGE : BO_EINTERNAL,
				  "cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	buf = malloc(max + 2);
	if (!buf) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory reading %s", path);
		goto fail;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot read %s", path);
		goto fail;
	}
	if (n > max) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE, "%s is larger than %zu bytes", path, max);
		goto fail;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
fail:
	if (f)
		fclose(f);
	free(buf);
	return rc;
}

/* Adds source/import_from, callable and kwargs of weights.pytorch_state_dict to req:
 * 0.5 `architecture: {source | import_from, callable, kwargs}`, 0.4 `architecture:
 * "file.py:Class"` (or "module.path:Class") with `kwargs` beside it. */
static int architecture_from_rdf(const char *rdf_path, cJSON *req, struct bo_error *err)
{
	struct rdf_limits lim;
	rdf_doc *doc = NULL;
	char *text = NULL, *spec = NULL;
	size_t len = 0;
	const cJSON *sd, *arch, *kwargs, *v;
	const char *callable = NULL;
	int rc;

	rdf_limits_default(&lim);
	rc = read_file(rdf_path, (size_t)lim.max_bytes, &text, &len, err);
	if (rc)
		goto fail;
	rc = rdf_parse(&doc, text, len, &lim, err);
	if (rc)
		goto fail;
	sd = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(rdf_root(doc), "weights"), "pytorch_state_dict");
	arch = cJSON_GetObjectItemCaseSensitive(sd, "architecture");
	kwargs = cJSON_GetObjectItemCaseSensitive(sd, "kwargs");
	if (cJSON_IsObject(arch)) {
		v = cJSON_GetObjectItemCaseSensitive(arch, "callable");
		callable = cJSON_GetStringValue(v);
		kwargs = cJSON_GetObjectItemCaseSensitive(arch, "kwargs");
		v = cJSON_GetObjectItemCaseSensitive(arch, "source");
		if (cJSON_IsString(v)) {
			if (!cJSON_AddStringToObject(req, "source", v->valuestring))
				goto nomem;
		} else {
			v = cJSON_GetObjectItemCaseSensitive(arch, "import_from");
			if (cJSON_IsString(v) && !cJSON_AddStringToObject(req, "import_from", v->valuestring))
				goto nomem;
		}
	} else if (cJSON_IsString(arch)) {
		spec = strdup(arch->valuestring);
		if (!spec)
			goto nomem;
		char *colon = strrchr(spec, ':');
		if (colon) {
			*colon = '\0';
			callable = colon + 1;
			size_t n = strlen(spec);
			const char *key = n > 3 && strcmp(spec + n - 3, ".py") == 0 ? "source"
										    : "import_from";
			if (!cJSON_AddStringToObject(req, key, spec))
				goto nomem;
		}
	}
	if (!callable || !*callable ||
	    (!cJSON_HasObjectItem(req, "source") && !cJSON_HasObjectItem(req, "import_from"))) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "weights.pytorch_state_dict.architecture does not name a source file "
				  "and a callable");
		goto fail;
	}
	v = cJSON_GetObjectItemCaseSensitive(req, "source");
	if (v && (strstr(v->valuestring, "://") || v->valuestring[0] == '/')) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "architecture source %s must be a file in the package",
				  v->valuestring);
		goto fail;
	}
	if (!cJSON_AddStringToObject(req, "callable", callable))
		goto nomem;
	if (kwargs && !cJSON_IsNull(kwargs)) {
		if (!cJSON_IsObject(kwargs)) {
			rc = bo_error_set(err, BO_EINVALIDPACKAGE,
					  "weights.pytorch_state_dict kwargs must be a mapping");
			goto fail;
		}
		cJSON *copy = cJSON_Duplicate(kwargs, 1);
		if (!copy || !cJSON_AddItemToObject(req, "kwargs", copy)) {
			cJSON_Delete(copy);
			goto nomem;
		}
	}
	rc = 0;
	goto fail;
nomem:
	rc = bo_error_set(err, BO_ENOMEM, "out of memory reading the architecture");
fail:
	rdf_free(doc);
	free(text);
	free(spec);
	return rc;
}

/* ---------------------------------------------------------------- the child */

static int write_script(const char *path, struct bo_error *err)
{
	size_t len = strlen(bo_state_dict_runner_py);
	int rc = 0;
	FILE *f = fopen(path, "wb");
	if (!f)
		return bo_error_set(err, BO_EINTERNAL, "cannot write %s: %s", path, strerror(errno));
	if (fwrite(bo_state_dict_runner_py, 1, len, f) != len)
		rc = bo_error_set(err, BO_EINTERNAL, "cannot write %s", path);
	if (fclose(f) && !rc)
		rc = bo_error_set(err, BO_EINTERNAL, "cannot write %s: %s", path, strerror(errno));
	return rc;
}

static int spawn_python(runtime *rt, const char *python, const char *script, struct bo_error *err)
{
	int sv[2] = {-1, -1};
	char *argv[] = {(char *)(uintptr_t)python, "-I", "-B", (char *)(uintptr_t)script, NULL};
	pid_t parent = getpid();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return bo_error_set(err, BO_EINTERNAL, "socketpair: %s", strerror(errno));
	rt->pid = fork();
	if (rt->pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return bo_error_set(err, BO_EINTERNAL, "fork: %s", strerror(errno));
	}
	if (rt->pid == 0) {
		/* async-signal-safe calls only: the worker may have threads (libtorch) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (dup2(sv[1], 0) < 0 || dup2(2, 1) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
		execv(python, argv);
		_exit(127);
	}
	close(sv[1]);
	rt->sock = sv[0];
	return 0;
}

/* Reaps the child: closing the socket ends its request loop; a stuck child is killed
 * after about two seconds. */
static void stop_python(runtime *rt)
{
	if (rt->sock >= 0)
		close(rt->sock);
	rt->sock = -1;
	if (rt->pid <= 0)
		return;
	for (int i = 0; i < 200; i++) {
		pid_t r = waitpid(rt->pid, NULL, WNOHANG);
		if (r == rt->pid || (r < 0 && errno != EINTR)) {
			rt->pid = -1;
			return;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	kill(rt->pid, SIGKILL);
	while (waitpid(rt->pid, NULL, 0) < 0 && errno == EINTR)
		;
	rt->pid = -1;
}

static int send_request(runtime *rt, const cJSON *req, struct bo_error *err)
{
	char *text = cJSON_PrintUnformatted(req);
	size_t len, off = 0;
	int rc = 0;
	if (!text)
		return bo_error_set(err, BO_ENOMEM, "out of memory writing a request to python");
	len = strlen(text);
	text[len] = '\n'; /* the NUL is not sent: a line is the message */
	while (off < len + 1) {
		ssize_t w = send(rt->sock, text + off, len + 1 - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = bo_error_set(err, BO_EINTERNAL,
					  "pytorch_state_dict: python exited early (see the log)");
			break;
		}
		off += (size_t)w;
	}
	free(text);
	return rc;
}

/* Reads one reply line and checks "ok"; a refusal becomes BO_EINVALIDPACKAGE with the
 * child's message (the package's architecture, weights or model are at fault), a child
 * that died or answered garbage BO_EINTERNAL. *out (caller frees) on success. */
static int read_reply(runtime *rt, cJSON **out, struct bo_error *err)
{
	char *line = NULL;
	size_t n = 0;
	cJSON *reply = NULL;
	const cJSON *ok, *msg, *kind;
	int rc;

	*out = NULL;
	line = malloc(REPLY_MAX + 1);
	if (!line) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory reading python's reply");
		goto fail;
	}
	for (;;) {
		if (n == REPLY_MAX) {
			rc = bo_error_set(err, BO_EINTERNAL,
					  "pytorch_state_dict: python's reply is longer than %d bytes",
					  REPLY_MAX);
			goto fail;
		}
		ssize_t r = recv(rt->sock, line + n, REPLY_MAX - n, MSG_PEEK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = bo_error_set(err, BO_EINTERNAL,
					  "pytorch_state_dict: python exited without answering (see the log)");
			goto fail;
		}
		char *nl = memchr(line + n, '\n', (size_t)r);
		size_t take = nl ? (size_t)(nl - (line + n)) + 1 : (size_t)r;
		/* consume only up to the newline so a later reply stays in the socket */
		r = recv(rt->sock, line + n, take, 0);
		if (r != (ssize_t)take) {
			rc = bo_error_set(err, BO_EINTERNAL, "pytorch_state_dict: short read from python");
			goto fail;
		}
		n += take;
		if (nl)
			break;
	}
	line[n] = '\0';
	reply = cJSON_Parse(line);
	ok = cJSON_GetObjectItemCaseSensitive(reply, "ok");
	if (!cJSON_IsBool(ok)) {
		rc = bo_error_set(err, BO_EINTERNAL, "pytorch_state_dict: python answered no JSON reply");
		goto fail;
	}
	if (!cJSON_IsTrue(ok)) {
		msg = cJSON_GetObjectItemCaseSensitive(reply, "error");
		kind = cJSON_GetObjectItemCaseSensitive(reply, "kind");
		const char *k = cJSON_GetStringValue(kind);
		rc = bo_error_set(err,
				  k && (strcmp(k, "runtime") == 0 || strcmp(k, "request") == 0)
					  ? BO_EINTERNAL
					  : BO_EINVALIDPACKAGE,
				  "%s", cJSON_IsString(msg) ? msg->valuestring : "python refused");
		goto fail;
	}
	*out = reply;
	reply = NULL;
	rc = 0;
fail:
	cJSON_Delete(reply);
	free(line);
	return rc;
}

/* ---------------------------------------------------------------- runtime_ops */

static void sd_close(runtime *rt)
{
	if (!rt)
		return;
	stop_python(rt);
	for (size_t i = 0; i < rt->nnames; i++)
		free(rt->names[i]);
	free(rt);
}

static int sd_open(runtime **out, const char *weights_path, const struct rt_options *opt,
		   struct bo_error *err)
{
	runtime *rt = NULL;
	cJSON *req = NULL, *reply = NULL;
	char script[2100];
	const char *python;
	const cJSON *v;
	int rc;

	*out = NULL;
	if (!opt || !opt->package_dir || !opt->scratch_dir || !opt->rdf_path) {
		rc = bo_error_set(err, BO_EINTERNAL,
				  "pytorch_state_dict needs package_dir, scratch_dir and rdf_path");
		goto fail;
	}
	rt = calloc(1, sizeof(*rt));
	if (!rt) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory opening pytorch_state_dict weights");
		goto fail;
	}
	rt->pid = -1;
	rt->sock = -1;
	if ((size_t)snprintf(rt->scratch, sizeof(rt->scratch), "%s", opt->scratch_dir) >=
		    sizeof(rt->scratch) ||
	    (size_t)snprintf(script, sizeof(script), "%s/state_dict_runner.py", opt->scratch_dir) >=
		    sizeof(script)) {
		rc = bo_error_set(err, BO_EINTERNAL, "scratch directory path is too long");
		goto fail;
	}
	req = cJSON_CreateObject();
	if (!req || !cJSON_AddStringToObject(req, "op", "load") ||
	    !cJSON_AddStringToObject(req, "package_dir", opt->package_dir) ||
	    !cJSON_AddStringToObject(req, "weights", weights_path) ||
	    !cJSON_AddNumberToObject(req, "threads", opt->threads > 0 ? opt->threads : 1)) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory opening pytorch_state_dict weights");
		goto fail;
	}
	rc = architecture_from_rdf(opt->rdf_path, req, err);
	if (rc)
		goto fail;
	rc = write_script(script, err);
	if (rc)
		goto fail;
	python = opt->python ? opt->python : "/usr/bin/python3";
	if (access(python, X_OK)) {
		rc = bo_error_set(err, BO_EINTERNAL,
				  "%s cannot be run (%s): pytorch_state_dict needs python3-torch",
				  python, strerror(errno));
		goto fail;
	}
	rc = spawn_python(rt, python, script, err);
	if (rc)
		goto fail;
	rc = send_request(rt, req, err);
	if (rc)
		goto fail;
	rc = read_reply(rt, &reply, err);
	if (rc)
		goto fail;
	v = cJSON_GetObjectItemCaseSensitive(reply, "torch");
	snprintf(rt->version, sizeof(rt->version), "pytorch %s",
		 cJSON_IsString(v) ? v->valuestring : "(unknown version)");
	v = cJSON_GetObjectItemCaseSensitive(reply, "inputs");
	const cJSON *name;
	cJSON_ArrayForEach(name, v)
	{
		if (!cJSON_IsString(name) || rt->nnames == MAX_INPUT_NAMES)
			break;
		rt->names[rt->nnames] = strdup(name->valuestring);
		if (!rt->names[rt->nnames]) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
			goto fail;
		}
		rt->nnames++;
	}
	*out = rt;
	rt = NULL;
	rc = 0;
fail:
	sd_close(rt);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	return rc;
}

static int sd_io_names(runtime *rt, const char *const **inputs, size_t *nin,
		       const char *const **outputs, size_t *nout)
{
	*inputs = (const char *const *)rt->names;
	*nin = rt->nnames;
	*outputs = NULL; /* a Python module declares no outputs: known after a run */
	*nout = 0;
	return 0;
}

static void free_outputs(struct rt_tensor *t, size_t n)
{
	if (!t)
		return;
	for (size_t i = 0; i < n; i++)
		free(t[i].data);
	free(t);
}

static int sd_run(runtime *rt, const struct rt_tensor *inputs, size_t nin,
		  struct rt_tensor **outputs, size_t *nout, struct bo_error *err)
{
	cJSON *req = NULL, *paths = NULL, *reply = NULL;
	struct rt_tensor *outs = NULL;
	struct npy_array *a = NULL;
	const cJSON *list, *p;
	size_t n = 0, count;
	char path[2200];
	unsigned run = rt->runs++;
	int rc;

	*outputs = NULL;
	*nout = 0;
	req = cJSON_CreateObject();
	paths = cJSON_AddArrayToObject(req, "inputs");
	if (!paths)
		goto nomem;
	for (size_t i = 0; i < nin; i++) {
		snprintf(path, sizeof(path), "%s/sd_in_%u_%zu.npy", rt->scratch, run, i);
		rc = npy_save(path, inputs[i].dtype, inputs[i].ndim, inputs[i].shape,
			      inputs[i].data, err);
		if (rc)
			goto fail;
		if (!cJSON_AddItemToArray(paths, cJSON_CreateString(path)))
			goto nomem;
	}
	snprintf(path, sizeof(path), "%s/sd_out_%u_", rt->scratch, run);
	if (!cJSON_AddStringToObject(req, "op", "run") ||
	    !cJSON_AddStringToObject(req, "out_prefix", path))
		goto nomem;
	rc = send_request(rt, req, err);
	if (rc)
		goto fail;
	rc = read_reply(rt, &reply, err);
	if (rc)
		goto fail;
	list = cJSON_GetObjectItemCaseSensitive(reply, "outputs");
	count = (size_t)cJSON_GetArraySize(list);
	outs = calloc(count ? count : 1, sizeof(*outs));
	if (!outs)
		goto nomem;
	cJSON_ArrayForEach(p, list)
	{
		const char *file = cJSON_GetStringValue(p);
		if (!file || strncmp(file, path, strlen(path)) != 0) {
			rc = bo_error_set(err, BO_EINTERNAL,
					  "pytorch_state_dict: python named an unexpected output file");
			goto fail;
		}
		rc = npy_load(file, OUTPUT_MAX_BYTES, &a, err);
		unlink(file);
		if (rc)
			goto fail;
		struct rt_tensor *t = &outs[n++]; /* name "": a Python module names no outputs */
		t->dtype = a->h.dtype;
		t->ndim = a->h.ndim;
		memcpy(t->shape, a->h.shape, sizeof(t->shape));
		t->nbytes = a->nbytes;
		t->data = a->data; /* taken from the array */
		a->data = NULL;
		npy_array_free(a);
		a = NULL;
	}
	*outputs = outs;
	*nout = n;
	outs = NULL;
	rc = 0;
	goto fail;
nomem:
	rc = bo_error_set(err, BO_ENOMEM, "out of memory running pytorch_state_dict weights");
fail:
	for (size_t i = 0; i < nin; i++) {
		snprintf(path, sizeof(path), "%s/sd_in_%u_%zu.npy", rt->scratch, run, i);
		unlink(path);
	}
	free_outputs(outs, n);
	npy_array_free(a);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	return rc;
}

static const char *sd_version(runtime *rt)
{
	return rt && rt->version[0] ? rt->version : "pytorch (python3-torch)";
}

const struct runtime_ops runtime_state_dict = {
	.weight_format = "pytorch_state_dict",
	.open = sd_open,
	.io_names = sd_io_names,
	.run = sd_run,
	.version = sd_version,
	.close = sd_close,
};
