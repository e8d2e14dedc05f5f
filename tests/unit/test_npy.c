/* Unit tests for npy: every .npy of the community corpus against manifest.json, save/load
 * round trips, hand-built big-endian and Fortran-order files, and hostile headers. No
 * numpy here: test files are built byte by byte. Corpus tests are SKIP when the corpus
 * (BO_CORPUS_DIR, else ../shared/corpus beside the repo) is missing. */
#include "check.h"

#include "common/error.h"
#include "common/npy.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>

static int find_corpus(char *dir, size_t cap)
{
	const char *env = getenv("BO_CORPUS_DIR");
	struct stat sb;
	char probe[4200];
	snprintf(dir, cap, "%s", env ? env : check_src("../shared/corpus"));
	snprintf(probe, sizeof(probe), "%s/manifest.json", dir);
	return stat(probe, &sb) == 0 && S_ISREG(sb.st_mode);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(p, 1, n, f);
	return (fclose(f) == 0 && w == n) ? 0 : -1;
}

/* ---- the corpus ----------------------------------------------------------------------- */

/* Every file under the corpus named *.npy, counted by a walk independent of the manifest. */
static int npy_files_on_disk;

static int count_npy(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)ftw;
	size_t n = strlen(path);
	if (flag == FTW_F && n > 4 && strcmp(path + n - 4, ".npy") == 0)
		npy_files_on_disk++;
	return 0;
}

/* Calls fn once for every file that a reference of manifest.json records an npy header
 * for (several references may name one file). Returns the number of distinct files
 * visited, -1 when the manifest cannot be read. */
static int manifest_each_npy(const char *corpus,
			     void (*fn)(const char *path, const cJSON *npy, void *ctx), void *ctx)
{
	char path[4300];
	snprintf(path, sizeof(path), "%s/manifest.json", corpus);
	size_t len = 0;
	char *text = slurp(path, &len);
	if (!text)
		return -1;
	cJSON *m = cJSON_ParseWithLength(text, len);
	free(text);
	if (!cJSON_IsArray(m)) {
		cJSON_Delete(m);
		return -1;
	}
	int n = 0;
	cJSON *seen = cJSON_CreateObject();
	const cJSON *e;
	cJSON_ArrayForEach(e, m)
	{
		const char *dir = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "path"));
		const cJSON *r;
		cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(e, "references"))
		{
			const cJSON *npy = cJSON_GetObjectItemCaseSensitive(r, "npy");
			const char *ref = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "ref"));
			if (!npy || !dir || !ref)
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", corpus, dir, ref);
			if (!seen || cJSON_GetObjectItemCaseSensitive(seen, path))
				continue;
			cJSON_AddTrueToObject(seen, path);
			fn(path, npy, ctx);
			n++;
		}
	}
	cJSON_Delete(m);
	if (!seen)
		return -1;
	cJSON_Delete(seen);
	return n;
}

static void check_against_manifest(const char *path, const struct npy_header *h,
				   const cJSON *npy)
{
	const char *dtype = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(npy, "dtype"));
	const cJSON *shape = cJSON_GetObjectItemCaseSensitive(npy, "shape");
	const cJSON *fo = cJSON_GetObjectItemCaseSensitive(npy, "fortran_order");
	check(dtype && strcmp(h->descr, dtype) == 0, "%s: descr %s, manifest %s", path, h->descr,
	      dtype ? dtype : "(none)");
	check(cJSON_IsBool(fo) && h->fortran_order == cJSON_IsTrue(fo), "%s: fortran_order", path);
	require(cJSON_IsArray(shape), "%s: manifest shape", path);
	check(h->ndim == cJSON_GetArraySize(shape), "%s: ndim %d, manifest %d", path, h->ndim,
	      cJSON_GetArraySize(shape));
	int64_t count = 1;
	for (int i = 0; i < h->ndim && i < cJSON_GetArraySize(shape); i++) {
		int64_t want = (int64_t)cJSON_GetArrayItem(shape, i)->valuedouble;
		check(h->shape[i] == want, "%s: shape[%d] %lld, manifest %lld", path, i,
		      (long long)h->shape[i], (long long)want);
		count *= want;
	}
	check(h->count == count, "%s: count %lld, manifest %lld", path, (long long)h->count,
	      (long long)count);
}

static void corpus_header_one(const char *path, const cJSON *npy, void *ctx)
{
	int *parsed = ctx;
	unsigned char buf[NPY_HEADER_MAX + 12];
	FILE *f = fopen(path, "rb");
	require(f, "%s: cannot open", path);
	size_t got = fread(buf, 1, NPY_HEAD_GUESS, f);
	struct npy_header h;
	struct bo_error err = BO_ERROR_INIT;
	size_t needed = 0;
	int rc = npy_parse_header(buf, got, &h, &needed, &err);
	if (rc == NPY_ENEEDMORE && needed <= sizeof(buf) && needed > got) {
		got += fread(buf + got, 1, needed - got, f);
		rc = npy_parse_header(buf, got, &h, &needed, &err);
	}
	fclose(f);
	check(rc == 0, "%s: rc %d: %s", path, rc, err.detail);
	if (rc == 0) {
		check_against_manifest(path, &h, npy);
		check(h.major == 1 && h.minor == 0, "%s: version %d.%d", path, h.major, h.minor);
		(*parsed)++;
	}
	/* The validator reads 10 bytes first in the worst case: it must learn the full size. */
	struct npy_header h2;
	size_t needed10 = 0;
	rc = npy_parse_header(buf, 10, &h2, &needed10, &err);
	check(rc == NPY_ENEEDMORE && needed10 == h.data_offset,
	      "%s: 10 bytes: rc %d needed %zu, data_offset %zu", path, rc, needed10,
	      h.data_offset);
	bo_error_cleanup(&err);
}

static void test_npy__corpus_headers(void)
{
	char corpus[4096];
	if (!find_corpus(corpus, sizeof(corpus)))
		skip_test("corpus not found (set BO_CORPUS_DIR)");
	int parsed = 0;
	int n = manifest_each_npy(corpus, corpus_header_one, &parsed);
	require(n > 0, "manifest.json lists no npy files (%d)", n);
	npy_files_on_disk = 0;
	nftw(corpus, count_npy, 16, FTW_PHYS);
	check(npy_files_on_disk == n, "%d .npy files on disk, %d in the manifest",
	      npy_files_on_disk, n);
	check(parsed == n, "%d of %d parsed", parsed, n);
	printf("  %d corpus .npy headers checked\n", parsed);
}

static void corpus_load_one(const char *path, const cJSON *npy, void *ctx)
{
	int *loaded = ctx;
	struct npy_array *a = NULL;
	struct bo_error err = BO_ERROR_INIT;
	int rc = npy_load(path, 64u << 20, &a, &err);
	check(rc == 0 && a, "%s: rc %d: %s", path, rc, err.detail);
	if (rc == 0 && a) {
		check_against_manifest(path, &a->h, npy);
		check(a->nbytes == (size_t)a->h.count * (size_t)a->h.item_size, "%s: nbytes", path);
		struct stat sb;
		check(stat(path, &sb) == 0 && (size_t)sb.st_size == a->h.data_offset + a->nbytes,
		      "%s: file size", path);
		/* Real test tensors hold finite values, and not all of them zero. */
		int finite = 1, nonzero = 0;
		for (int64_t i = 0; i < a->h.count; i++) {
			double v = npy_get_f64(a, i);
			finite &= isfinite(v) != 0;
			nonzero |= v != 0.0;
		}
		check(finite, "%s: non-finite value", path);
		check(nonzero, "%s: all zero", path);
		(*loaded)++;
	}
	npy_array_free(a);
	bo_error_cleanup(&err);
}

static void test_npy__corpus_load(void)
{
	char corpus[4096];
	if (!find_corpus(corpus, sizeof(corpus)))
		skip_test("corpus not found (set BO_CORPUS_DIR)");
	int loaded = 0;
	int n = manifest_each_npy(corpus, corpus_load_one, &loaded);
	require(n > 0, "manifest.json lists no npy files (%d)", n);
	check(loaded == n, "%d of %d loaded", loaded, n);
	printf("  %d corpus .npy files loaded\n", loaded);
}

static void test_npy__corpus_too_large(void)
{
	char corpus[4096], path[4400];
	if (!find_corpus(corpus, sizeof(corpus)))
		skip_test("corpus not found (set BO_CORPUS_DIR)");
	/* 1x1x256x256 float32 = 262144 data bytes. */
	snprintf(path, sizeof(path), "%s/packages/%s", corpus,
		 "spec-bioimage-io__unet2d_multi_tensor/test_input_0.npy");
	struct npy_array *a = NULL;
	struct bo_error err = BO_ERROR_INIT;
	int rc = npy_load(path, 262143, &a, &err);
	check(rc == BO_ETOOLARGE && !a, "rc %d", rc);
	check(strstr(err.detail, "262144") != NULL, "detail: %s", err.detail);
	bo_error_cleanup(&err);
	rc = npy_load(path, 262144, &a, &err);
	check(rc == 0 && a, "exact limit: rc %d %s", rc, err.detail);
	npy_array_free(a);
	bo_error_cleanup(&err);
}

/* ---- round trips ---------------------------------------------------------------------- */

/* Stores element i of a test array of dtype t at its place in data (native order) and
 * returns its value. Values are chosen to be exact in the dtype and to use its range. */
static double fill(enum npy_dtype t, unsigned char *data, int i)
{
	int v = i - 10;
	switch (t) {
	case NPY_BOOL:
		data[i] = (unsigned char)(i % 2);
		return i % 2;
	case NPY_I8: {
		int8_t x = (int8_t)v;
		memcpy(data + i, &x, 1);
		return x;
	}
	case NPY_U8: {
		uint8_t x = (uint8_t)(v + 200);
		memcpy(data + i, &x, 1);
		return x;
	}
	case NPY_I16: {
		int16_t x = (int16_t)(v * 1000);
		memcpy(data + 2 * i, &x, 2);
		return x;
	}
	case NPY_U16: {
		uint16_t x = (uint16_t)(v + 60000);
		memcpy(data + 2 * i, &x, 2);
		return x;
	}
	case NPY_I32: {
		int32_t x = v * 100000;
		memcpy(data + 4 * i, &x, 4);
		return x;
	}
	case NPY_U32: {
		uint32_t x = (uint32_t)(v + 4000000000);
		memcpy(data + 4 * i, &x, 4);
		return x;
	}
	case NPY_I64: {
		int64_t x = (int64_t)v * 1000000000000LL;
		memcpy(data + 8 * i, &x, 8);
		return (double)x;
	}
	case NPY_U64: {
		uint64_t x = (uint64_t)(v + 10) << 40;
		memcpy(data + 8 * i, &x, 8);
		return (double)x;
	}
	case NPY_F16: {
		/* v/4 in half precision: sign, exponent, 10-bit mantissa by hand. */
		double d = v / 4.0;
		uint16_t x = 0;
		if (d != 0) {
			int e;
			double m = frexp(fabs(d), &e); /* |d| = m * 2^e, m in [0.5, 1) */
			x = (uint16_t)((d < 0 ? 0x8000 : 0) | ((e - 1 + 15) << 10) |
				       ((int)((m * 2 - 1) * 1024) & 0x3ff));
		}
		memcpy(data + 2 * i, &x, 2);
		return d;
	}
	case NPY_F32: {
		float x = (float)v * 0.5f;
		memcpy(data + 4 * i, &x, 4);
		return x;
	}
	case NPY_F64: {
		double x = v * 0.1;
		memcpy(data + 8 * i, &x, 8);
		return x;
	}
	}
	return NAN;
}

static void test_npy__roundtrip_dtypes(void)
{
	static const struct {
		enum npy_dtype t;
		const char *descr, *name;
		int size;
	} cases[] = {
		{NPY_BOOL, "|b1", "bool", 1},     {NPY_I8, "|i1", "int8", 1},
		{NPY_U8, "|u1", "uint8", 1},      {NPY_I16, "<i2", "int16", 2},
		{NPY_U16, "<u2", "uint16", 2},    {NPY_I32, "<i4", "int32", 4},
		{NPY_U32, "<u4", "uint32", 4},    {NPY_I64, "<i8", "int64", 8},
		{NPY_U64, "<u8", "uint64", 8},    {NPY_F16, "<f2", "float16", 2},
		{NPY_F32, "<f4", "float32", 4},   {NPY_F64, "<f8", "float64", 8},
	};
	const int64_t shape[3] = {2, 3, 5};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		unsigned char data[30 * 8];
		double want[30];
		for (int i = 0; i < 30; i++)
			want[i] = fill(cases[c].t, data, i);
		char path[64];
		snprintf(path, sizeof(path), "rt_%s.npy", cases[c].name);
		struct bo_error err = BO_ERROR_INIT;
		int rc = npy_save(path, cases[c].t, 3, shape, data, &err);
		check(rc == 0, "%s: save rc %d %s", cases[c].name, rc, err.detail);
		check(strcmp(npy_dtype_name(cases[c].t), cases[c].name) == 0, "name %s",
		      npy_dtype_name(cases[c].t));

		size_t len = 0;
		char *bytes = slurp(path, &len);
		require(bytes, "%s: not written", path);
		/* Format 1.0, header padded to 64, descr as numpy writes it, ends in '\n'. */
		size_t off = 10 + ((size_t)(unsigned char)bytes[8] | (size_t)(unsigned char)bytes[9] << 8);
		check(bytes[6] == 1 && bytes[7] == 0, "%s: version", path);
		check(off % 64 == 0 && bytes[off - 1] == '\n', "%s: header end %zu", path, off);
		check(len == off + 30 * (size_t)cases[c].size, "%s: size %zu", path, len);
		char needle[32];
		snprintf(needle, sizeof(needle), "'descr': '%s'", cases[c].descr);
		check(memmem(bytes, off, needle, strlen(needle)) != NULL, "%s: no %s", path, needle);
		check(memmem(bytes, off, "(2, 3, 5)", 9) != NULL, "%s: shape", path);
		free(bytes);

		struct npy_array *a = NULL;
		rc = npy_load(path, 1 << 20, &a, &err);
		require(rc == 0 && a, "%s: load rc %d %s", path, rc, err.detail);
		check(a->h.dtype == cases[c].t && a->h.item_size == cases[c].size, "%s: dtype", path);
		check(strcmp(a->h.descr, cases[c].descr) == 0, "%s: descr %s", path, a->h.descr);
		check(a->h.ndim == 3 && a->h.shape[0] == 2 && a->h.shape[1] == 3 &&
			      a->h.shape[2] == 5 && a->h.count == 30,
		      "%s: shape", path);
		check(a->nbytes == 30 * (size_t)cases[c].size &&
			      memcmp(a->data, data, a->nbytes) == 0,
		      "%s: data differs", path);
		for (int i = 0; i < 30; i++)
			check(npy_get_f64(a, i) == want[i], "%s[%d]: %g != %g", path, i,
			      npy_get_f64(a, i), want[i]);
		check(isnan(npy_get_f64(a, 30)) && isnan(npy_get_f64(a, -1)), "%s: out of range",
		      path);
		npy_array_free(a);
		bo_error_cleanup(&err);
	}
}

static void test_npy__roundtrip_shapes(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct npy_array *a = NULL;
	/* 0-d: shape (), one element. */
	double x = 3.25;
	int rc = npy_save("scalar.npy", NPY_F64, 0, NULL, &x, &err);
	require(rc == 0, "save 0-d: %s", err.detail);
	size_t len = 0;
	char *bytes = slurp("scalar.npy", &len);
	require(bytes, "0-d not written");
	check(memmem(bytes, len, "'shape': ()", 11) != NULL, "0-d shape text");
	free(bytes);
	rc = npy_load("scalar.npy", 1024, &a, &err);
	require(rc == 0, "load 0-d: %s", err.detail);
	check(a->h.ndim == 0 && a->h.count == 1 && a->nbytes == 8 && npy_get_f64(a, 0) == 3.25,
	      "0-d content");
	npy_array_free(a);
	a = NULL;

	/* 1-d must be written "(5,)" (a tuple), and read back. */
	int32_t v[5] = {1, -2, 3, -4, 5};
	int64_t shape1[1] = {5};
	rc = npy_save("vec.npy", NPY_I32, 1, shape1, v, &err);
	require(rc == 0, "save 1-d: %s", err.detail);
	bytes = slurp("vec.npy", &len);
	require(bytes, "1-d not written");
	check(memmem(bytes, len, "'shape': (5,)", 13) != NULL, "1-d shape text");
	free(bytes);
	rc = npy_load("vec.npy", 1024, &a, &err);
	require(rc == 0, "load 1-d: %s", err.detail);
	check(a->h.ndim == 1 && a->h.count == 5 && npy_get_f64(a, 3) == -4, "1-d content");
	npy_array_free(a);
	a = NULL;

	/* Empty: a zero dimension gives no data bytes. */
	int64_t shape0[2] = {0, 7};
	rc = npy_save("empty.npy", NPY_F32, 2, shape0, NULL, &err);
	require(rc == 0, "save empty: %s", err.detail);
	rc = npy_load("empty.npy", 0, &a, &err);
	require(rc == 0, "load empty: %s", err.detail);
	check(a->h.count == 0 && a->nbytes == 0 && a->h.shape[1] == 7, "empty content");
	npy_array_free(a);
	a = NULL;

	/* 16 dimensions (the limit) fit in the padded header. */
	int64_t shape16[NPY_MAX_DIMS];
	for (int i = 0; i < NPY_MAX_DIMS; i++)
		shape16[i] = 1;
	shape16[5] = 2;
	uint8_t two[2] = {7, 9};
	rc = npy_save("d16.npy", NPY_U8, NPY_MAX_DIMS, shape16, two, &err);
	require(rc == 0, "save 16-d: %s", err.detail);
	rc = npy_load("d16.npy", 1024, &a, &err);
	require(rc == 0, "load 16-d: %s", err.detail);
	check(a->h.ndim == 16 && a->h.count == 2 && npy_get_f64(a, 1) == 9, "16-d content");
	npy_array_free(a);
	a = NULL;

	/* Caller bugs are refused, not written. */
	int64_t bad[2] = {-1, 2};
	rc = npy_save("bad.npy", NPY_U8, 2, bad, two, &err);
	check(rc == BO_EINTERNAL && access("bad.npy", F_OK) != 0, "negative shape saved");
	bo_error_cleanup(&err);
	rc = npy_save("bad.npy", NPY_U8, NPY_MAX_DIMS + 1, shape16, two, &err);
	check(rc == BO_EINTERNAL, "17 dims saved");
	bo_error_cleanup(&err);
	rc = npy_save("nodir/x.npy", NPY_U8, 1, shape1, two, &err);
	check(rc == BO_EINTERNAL && strstr(err.detail, "nodir/x.npy"), "unwritable: %d %s", rc,
	      err.detail);
	bo_error_cleanup(&err);
}

/* ---- hand-built files ----------------------------------------------------------------- */

/* Builds magic + version + length + dict (+ data) into buf; returns the total length.
 * major 1 uses a 2-byte length, 2 and 3 a 4-byte one; the dict is used as given. */
static size_t build(unsigned char *buf, size_t cap, int major, const char *dict,
		    const void *data, size_t nd)
{
	size_t dl = strlen(dict), pre = major == 1 ? 10 : 12;
	if (pre + dl + nd > cap)
		return 0;
	memcpy(buf, "\x93NUMPY", 6);
	buf[6] = (unsigned char)major;
	buf[7] = 0;
	buf[8] = (unsigned char)(dl & 0xff);
	buf[9] = (unsigned char)(dl >> 8);
	if (major != 1) {
		buf[10] = (unsigned char)(dl >> 16);
		buf[11] = (unsigned char)(dl >> 24);
	}
	memcpy(buf + pre, dict, dl);
	if (nd)
		memcpy(buf + pre + dl, data, nd);
	return pre + dl + nd;
}

static void test_npy__big_endian(void)
{
	unsigned char buf[512];
	/* >i4 (2, 3) holding -1, 2, 3, 4, 5, 0x01020304, written most significant byte first. */
	const int32_t vals[6] = {-1, 2, 3, 4, 5, 0x01020304};
	unsigned char be[24];
	for (int i = 0; i < 6; i++) {
		uint32_t u = (uint32_t)vals[i];
		be[4 * i] = (unsigned char)(u >> 24);
		be[4 * i + 1] = (unsigned char)(u >> 16);
		be[4 * i + 2] = (unsigned char)(u >> 8);
		be[4 * i + 3] = (unsigned char)u;
	}
	size_t n = build(buf, sizeof(buf), 1,
			 "{'descr': '>i4', 'fortran_order': False, 'shape': (2, 3), }   \n", be,
			 sizeof(be));
	require(write_file("be.npy", buf, n) == 0, "write");
	struct npy_array *a = NULL;
	struct bo_error err = BO_ERROR_INIT;
	int rc = npy_load("be.npy", 1024, &a, &err);
	require(rc == 0, "load: %s", err.detail);
	check(a->h.big_endian == 1 && strcmp(a->h.descr, ">i4") == 0, "big_endian flag");
	for (int i = 0; i < 6; i++) {
		int32_t got;
		memcpy(&got, (char *)a->data + 4 * i, 4);
		check(got == vals[i], "[%d] %d != %d", i, got, vals[i]);
		check(npy_get_f64(a, i) == vals[i], "[%d] as double", i);
	}
	npy_array_free(a);
	a = NULL;

	/* >f8 1.5 and -2.0 in version 2.0 with double-quoted keys; >u1 is not swapped. */
	const unsigned char f8[16] = {0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc0, 0x00, 0, 0, 0, 0, 0, 0};
	n = build(buf, sizeof(buf), 2, "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \">f8\"}\n",
		  f8, sizeof(f8));
	require(write_file("bef8.npy", buf, n) == 0, "write");
	rc = npy_load("bef8.npy", 1024, &a, &err);
	require(rc == 0, "load f8: %s", err.detail);
	check(a->h.major == 2 && npy_get_f64(a, 0) == 1.5 && npy_get_f64(a, 1) == -2.0,
	      "f8 values %g %g", npy_get_f64(a, 0), npy_get_f64(a, 1));
	npy_array_free(a);
	a = NULL;

	const unsigned char u1[3] = {1, 200, 3};
	n = build(buf, sizeof(buf), 3, "{'descr': '>u1', 'fortran_order': False, 'shape': (3,)}",
		  u1, sizeof(u1));
	require(write_file("beu1.npy", buf, n) == 0, "write");
	rc = npy_load("beu1.npy", 1024, &a, &err);
	require(rc == 0, "load u1: %s", err.detail);
	check(a->h.big_endian == 0 && a->h.major == 3 && npy_get_f64(a, 1) == 200, "u1");
	npy_array_free(a);
	bo_error_cleanup(&err);
}

static void test_npy__fortran_order(void)
{
	/* Shape (2, 3, 4); element (i, j, k) = 100i + 10j + k, stored with i fastest. */
	int16_t f[24];
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 4; k++)
				f[i + 2 * j + 6 * k] = (int16_t)(100 * i + 10 * j + k);
	unsigned char buf[512];
	size_t n = build(buf, sizeof(buf), 1,
			 "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3, 4), }\n", f,
			 sizeof(f));
	require(write_file("f.npy", buf, n) == 0, "write");
	struct npy_array *a = NULL;
	struct bo_error err = BO_ERROR_INIT;
	int rc = npy_load("f.npy", 1024, &a, &err);
	require(rc == 0, "load: %s", err.detail);
	check(a->h.fortran_order == 1, "flag");
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 4; k++)
				check(npy_get_f64(a, i * 12 + j * 4 + k) == 100 * i + 10 * j + k,
				      "(%d,%d,%d) = %g", i, j, k, npy_get_f64(a, i * 12 + j * 4 + k));
	npy_array_free(a);
	a = NULL;

	/* Big-endian and Fortran together: >u2 shape (3, 2), element (i, j) = 1000 + 10i + j. */
	unsigned char be[12];
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 2; j++) {
			int v = 1000 + 10 * i + j, at = 2 * (i + 3 * j);
			be[at] = (unsigned char)(v >> 8);
			be[at + 1] = (unsigned char)v;
		}
	n = build(buf, sizeof(buf), 1, "{'descr': '>u2', 'fortran_order': True, 'shape': (3, 2), }\n",
		  be, sizeof(be));
	require(write_file("fbe.npy", buf, n) == 0, "write");
	rc = npy_load("fbe.npy", 1024, &a, &err);
	require(rc == 0, "load: %s", err.detail);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 2; j++)
			check(npy_get_f64(a, i * 2 + j) == 1000 + 10 * i + j, "(%d,%d) = %g", i, j,
			      npy_get_f64(a, i * 2 + j));
	npy_array_free(a);
	bo_error_cleanup(&err);
}

/* ---- hostile headers ------------------------------------------------------------------ */

static void expect_invalid(const unsigned char *buf, size_t len, const char *want,
			   const char *label)
{
	struct npy_header h;
	struct bo_error err = BO_ERROR_INIT;
	size_t needed = 0;
	int rc = npy_parse_header(buf, len, &h, &needed, &err);
	check(rc == BO_EINVALIDPACKAGE, "%s: rc %d (%s)", label, rc, err.detail);
	check(strstr(err.detail, want) != NULL, "%s: detail '%s' lacks '%s'", label, err.detail,
	      want);
	check(strchr(err.detail, '\n') == NULL, "%s: detail is not one line", label);
	bo_error_cleanup(&err);
}

static void expect_dict_invalid(const char *dict, const char *want)
{
	unsigned char buf[1024];
	size_t n = build(buf, sizeof(buf), 1, dict, NULL, 0);
	expect_invalid(buf, n, want, dict);
}

static void test_npy__hostile_headers(void)
{
	unsigned char buf[1024];
	const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n";
	size_t n = build(buf, sizeof(buf), 1, ok, NULL, 0);
	struct npy_header h;
	struct bo_error err = BO_ERROR_INIT;
	size_t needed = 0;
	require(npy_parse_header(buf, n, &h, &needed, &err) == 0, "baseline: %s", err.detail);
	check(h.data_offset == n && h.count == 4, "baseline header");

	buf[5] = 'Z';
	expect_invalid(buf, n, "not an npy file", "bad magic");
	expect_invalid((const unsigned char *)"PK\x03\x04", 4, "not an npy file", "zip");
	buf[5] = 'Y';
	buf[6] = 4;
	expect_invalid(buf, n, "version 4.0 is not supported", "version 4");
	buf[6] = 1;
	buf[7] = 1;
	expect_invalid(buf, n, "version 1.1", "version 1.1");
	buf[7] = 0;

	/* Truncated header: NPY_ENEEDMORE with the size of the whole header. */
	memset(&err, 0, sizeof(err));
	int rc = npy_parse_header(buf, n - 5, &h, &needed, &err);
	check(rc == NPY_ENEEDMORE && needed == n && err.code == 0, "truncated: %d %zu", rc, needed);
	rc = npy_parse_header(buf, 3, &h, &needed, &err);
	check(rc == NPY_ENEEDMORE && needed == 10, "3 bytes: %d %zu", rc, needed);
	rc = npy_parse_header(buf, 0, &h, &needed, &err);
	check(rc == NPY_ENEEDMORE && needed == 10, "0 bytes: %d %zu", rc, needed);

	/* Huge header lengths: 2.0 with 2^31, and just over the limit. */
	n = build(buf, sizeof(buf), 2, ok, NULL, 0);
	rc = npy_parse_header(buf, 11, &h, &needed, &err);
	check(rc == NPY_ENEEDMORE && needed == 12, "11 bytes of 2.0: %d %zu", rc, needed);
	buf[8] = 0, buf[9] = 0, buf[10] = 0, buf[11] = 0x80;
	expect_invalid(buf, n, "more than the limit of 65536", "2^31 header");
	buf[8] = 1, buf[9] = 0, buf[10] = 1, buf[11] = 0;
	expect_invalid(buf, 12, "65537 bytes", "65537 header");
	buf[8] = 0, buf[9] = 0, buf[10] = 1, buf[11] = 0;
	rc = npy_parse_header(buf, 12, &h, &needed, &err);
	check(rc == NPY_ENEEDMORE && needed == 12 + 65536, "65536 header: %d %zu", rc, needed);

	/* Pickled objects and structured dtypes. */
	expect_dict_invalid("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }\n",
			    "object arrays (pickled data) are refused");
	expect_dict_invalid("{'descr': 'O', 'fortran_order': False, 'shape': (3,), }\n",
			    "object arrays (pickled data) are refused");
	expect_dict_invalid("{'descr': '<O8', 'fortran_order': False, 'shape': (3,), }\n",
			    "object arrays (pickled data) are refused");
	expect_dict_invalid("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, "
			    "'shape': (3,), }\n",
			    "structured dtypes are not supported");
	expect_dict_invalid("{'descr': '|V8', 'fortran_order': False, 'shape': (3,), }\n",
			    "structured dtypes are not supported");
	expect_dict_invalid("{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }\n",
			    "complex");
	expect_dict_invalid("{'descr': '<U4', 'fortran_order': False, 'shape': (3,), }\n",
			    "string type");
	expect_dict_invalid("{'descr': '<f3', 'fortran_order': False, 'shape': (3,), }\n",
			    "'<f3' is not supported");
	expect_dict_invalid("{'descr': 'float32', 'fortran_order': False, 'shape': (3,), }\n",
			    "not a numpy type string");
	expect_dict_invalid("{'descr': '|f4', 'fortran_order': False, 'shape': (3,), }\n",
			    "no byte order");
	expect_dict_invalid("{'descr': '<f4<f4<f4<f4<f4<f4', 'fortran_order': False, 'shape': (3,), }\n",
			    "descr longer than 15");

	/* Shapes. */
	expect_dict_invalid("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }\n",
			    "negative dimension");
	expect_dict_invalid("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, "
			    "4294967296), }\n",
			    "more than 2^63-1 elements");
	expect_dict_invalid("{'descr': '<f8', 'fortran_order': False, "
			    "'shape': (4611686018427387904,), }\n",
			    "overflows");
	expect_dict_invalid("{'descr': '<f4', 'fortran_order': False, "
			    "'shape': (99999999999999999999,), }\n",
			    "larger than 2^63-1");
	expect_dict_invalid("{'descr': '<f4', 'fortran_order': False, 'shape': (5), }\n",
			    "(n,)");
	expect_dict_invalid("{'descr': '<f4', 'fortran_order': False, 'shape': [5], }\n",
			    "shape must be a tuple");
	expect_dict_invalid("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2 3), }\n",
			    "expected ',' or ')'");
	expect_dict_invalid("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,"
			    "1,1,1,1,1,1,1,1,1), }\n",
			    "more than 16 dimensions");

	/* Keys and dict syntax. */
	expect_dict_invalid("{'descr': '<f4', 'fortran_order': False, }\n", "no 'shape' key");
	expect_dict_invalid("{'fortran_order': False, 'shape': (1,), }\n", "no 'descr' key");
	expect_dict_invalid("{'descr': '<f4', 'shape': (1,), }\n", "no 'fortran_order' key");
	expect_dict_invalid("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1, }\n",
			    "unknown key 'x'");
	expect_dict_invalid("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (1,)}\n",
			    "'descr' twice");
	expect_dict_invalid("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk\n",
			    "unexpected bytes after the closing '}'");
	expect_dict_invalid("{'descr': '<f4', 'fortran_order': false, 'shape': (1,), }\n",
			    "True or False");
	expect_dict_invalid("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (1,), }\n",
			    "True or False");
	expect_dict_invalid("{'descr': '<f4' 'fortran_order': False, 'shape': (1,), }\n",
			    "expected ',' or '}'");
	expect_dict_invalid("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), \n",
			    "expected a quoted key");
	expect_dict_invalid("{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,)}\n",
			    "escape sequences");
	expect_dict_invalid("{'descr: '<f4', 'fortran_order': False, 'shape': (1,)}\n",
			    "expected ':'");
	expect_dict_invalid("['descr', '<f4']\n", "expected '{'");
	expect_dict_invalid("\n", "expected '{'");
	/* A NUL inside the dict is just a byte that does not fit the grammar. */
	n = build(buf, sizeof(buf), 1, ok, NULL, 0);
	buf[20] = '\0';
	expect_invalid(buf, n, "malformed", "NUL in dict");

	/* Python 2 numpy wrote longs with an L suffix; numpy still reads them. */
	n = build(buf, sizeof(buf), 1,
		  "{'descr': '<u2', 'fortran_order': False, 'shape': (1L, 512L, 512L, 1L), }\n",
		  NULL, 0);
	rc = npy_parse_header(buf, n, &h, &needed, &err);
	check(rc == 0 && h.count == 512 * 512 && h.dtype == NPY_U16, "py2 longs: %d %s", rc,
	      err.detail);
	bo_error_cleanup(&err);
}

static void test_npy__hostile_files(void)
{
	unsigned char buf[1024];
	const float data[4] = {1, 2, 3, 4};
	const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n";
	size_t n = build(buf, sizeof(buf), 1, dict, data, sizeof(data));
	struct npy_array *a = NULL;
	struct bo_error err = BO_ERROR_INIT;

	require(write_file("short.npy", buf, n - 1) == 0, "write");
	int rc = npy_load("short.npy", 1024, &a, &err);
	check(rc == BO_EINVALIDPACKAGE && !a && strstr(err.detail, "truncated"), "short: %d %s",
	      rc, err.detail);
	bo_error_cleanup(&err);

	buf[n] = 0;
	require(write_file("long.npy", buf, n + 1) == 0, "write");
	rc = npy_load("long.npy", 1024, &a, &err);
	check(rc == BO_EINVALIDPACKAGE && !a && strstr(err.detail, "trailing bytes"), "long: %d %s",
	      rc, err.detail);
	bo_error_cleanup(&err);

	require(write_file("hdr.npy", buf, 30) == 0, "write");
	rc = npy_load("hdr.npy", 1024, &a, &err);
	check(rc == BO_EINVALIDPACKAGE && strstr(err.detail, "inside its header"), "hdr: %d %s",
	      rc, err.detail);
	bo_error_cleanup(&err);

	require(write_file("empty.npy", "", 0) == 0, "write");
	rc = npy_load("empty.npy", 1024, &a, &err);
	check(rc == BO_EINVALIDPACKAGE, "empty: %d %s", rc, err.detail);
	bo_error_cleanup(&err);

	/* A pickled file as numpy writes it: refused before any data is read. */
	n = build(buf, sizeof(buf), 1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n",
		  "\x80\x02]q\x00.", 6);
	require(write_file("pickle.npy", buf, n) == 0, "write");
	rc = npy_load("pickle.npy", 1024, &a, &err);
	check(rc == BO_EINVALIDPACKAGE && strstr(err.detail, "pickled"), "pickle: %d %s", rc,
	      err.detail);
	bo_error_cleanup(&err);

	/* A header claiming a huge array in a tiny file: too large before any allocation. */
	n = build(buf, sizeof(buf), 1,
		  "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }\n", NULL, 0);
	require(write_file("huge.npy", buf, n) == 0, "write");
	rc = npy_load("huge.npy", 1u << 30, &a, &err);
	check(rc == BO_ETOOLARGE && !a, "huge: %d %s", rc, err.detail);
	bo_error_cleanup(&err);

	/* A header longer than the first read (2.0, 1000 bytes of padding). */
	char big[1200];
	int m = snprintf(big, sizeof(big), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }");
	memset(big + m, ' ', 1000);
	big[m + 1000] = '\n';
	big[m + 1001] = '\0';
	unsigned char file[1400];
	n = build(file, sizeof(file), 2, big, data, sizeof(data));
	require(write_file("pad.npy", file, n) == 0, "write");
	rc = npy_load("pad.npy", 1024, &a, &err);
	check(rc == 0 && a && npy_get_f64(a, 3) == 4 && a->h.data_offset == (size_t)12 + m + 1001,
	      "padded: %d %s", rc, err.detail);
	npy_array_free(a);
	a = NULL;

	rc = npy_load("missing.npy", 1024, &a, &err);
	check(rc == BO_ENOTFOUND && !a, "missing: %d", rc);
	bo_error_cleanup(&err);
	rc = npy_load(".", 1024, &a, &err);
	check(rc != 0 && !a, "directory: %d", rc);
	bo_error_cleanup(&err);
	npy_array_free(NULL);
}

static void test_npy__dtype_names(void)
{
	/* Known half-precision bit patterns, independent of the test's own encoder. */
	uint16_t half[6] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3555};
	struct npy_array a = {.h = {.dtype = NPY_F16, .item_size = 2, .count = 6},
			      .data = half, .nbytes = sizeof(half)};
	check(npy_get_f64(&a, 0) == 1.0 && npy_get_f64(&a, 1) == -2.0, "f16 1, -2");
	check(npy_get_f64(&a, 2) == 65504.0 && npy_get_f64(&a, 3) == ldexp(1, -24),
	      "f16 max, min subnormal");
	check(isinf(npy_get_f64(&a, 4)) && fabs(npy_get_f64(&a, 5) - 1.0 / 3) < 1e-3,
	      "f16 inf, 1/3");

	check(strcmp(npy_dtype_name(NPY_F32), "float32") == 0, "f32");
	check(strcmp(npy_dtype_name(NPY_BOOL), "bool") == 0, "bool");
	check(strcmp(npy_dtype_name(NPY_U8), "uint8") == 0, "u8");
	check(strcmp(npy_dtype_name((enum npy_dtype)99), "unknown") == 0, "unknown");
}

static struct check_test tests[] = {
	TEST(test_npy__corpus_headers),   TEST(test_npy__corpus_load),
	TEST(test_npy__corpus_too_large), TEST(test_npy__roundtrip_dtypes),
	TEST(test_npy__roundtrip_shapes), TEST(test_npy__big_endian),
	TEST(test_npy__fortran_order),    TEST(test_npy__hostile_headers),
	TEST(test_npy__hostile_files),    TEST(test_npy__dtype_names),
};

int main(int argc, char **argv)
{
	return check_run(argc, argv, tests, sizeof tests / sizeof *tests);
}
