/* Unit tests for import's parsing pieces: the times of the reference's and the legacy
 * layout as our columns store them, and a legacy rdf_source split into its path and base. */
#include "check.h"

#include "pipeline/import.h"

static void norm_is(const char *in, const char *want)
{
	char out[40];
	int rc = import_time_normalize(in, out, sizeof(out));
	if (!want)
		check(rc == -1, "'%s' accepted as %s", in, out);
	else
		check(rc == 0 && !strcmp(out, want), "'%s' -> rc %d '%s', want '%s'", in, rc, rc ? "" : out, want);
}

static void test_import__time(void)
{
	/* ours comes back byte for byte: a bucket we wrote imports unchanged */
	norm_is("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
	norm_is("2026-01-01T00:00:00.123Z", "2026-01-01T00:00:00.123Z");
	/* the legacy collection's and pydantic's forms */
	norm_is("2022-06-15 22:06:22.658325", "2022-06-15T22:06:22.658Z");
	norm_is("2024-02-01T08:00:00", "2024-02-01T08:00:00Z");
	norm_is("2024-02-02T09:30:00+01:00", "2024-02-02T08:30:00Z");
	norm_is("2024-01-01T00:30:00-01:30", "2024-01-01T02:00:00Z");
	norm_is("2024-03-01T00:10:00+00:30", "2024-02-29T23:40:00Z");
	norm_is("2024-01-01T00:00:00.5Z", "2024-01-01T00:00:00.500Z");
	/* not times */
	norm_is("", NULL);
	norm_is("2024-01-01", NULL);
	norm_is("2024-01-01T00:00", NULL);
	norm_is("2024-01-01T00:00:00.Z", NULL);
	norm_is("2024-01-01T00:00:00+1", NULL);
	norm_is("2024-01-01T00:00:00+25:00", NULL);
	norm_is("2024-01-01T00:00:00Z junk", NULL);
	norm_is("yesterday", NULL);
	check(import_time_normalize(NULL, (char[40]){0}, 40) == -1, "NULL");
	char small[8];
	check(import_time_normalize("2026-01-01T00:00:00Z", small, sizeof(small)) == -1, "small buffer");
}

static void test_import__legacy_paths(void)
{
	char path[128], base[256];
	const char *u = "https://bioimage-io.github.io/collection-bioimage-io/rdfs/10.5281/zenodo.5764892/6647674/rdf.yaml";
	check(import_legacy_paths(u, path, sizeof(path), base, sizeof(base)) == 0, "zenodo");
	check(!strcmp(path, "10.5281/zenodo.5764892"), "path %s", path);
	check(!strcmp(base, "https://bioimage-io.github.io/collection-bioimage-io/rdfs/10.5281/zenodo.5764892"), "base %s",
	      base);
	check(import_legacy_paths("https://h/rdfs/ilastik/ilastik/latest/rdf.yaml", path, sizeof(path), base,
				  sizeof(base)) == 0 &&
		      !strcmp(path, "ilastik/ilastik") && !strcmp(base, "https://h/rdfs/ilastik/ilastik"),
	      "ilastik: %s %s", path, base);
	/* shapes refused: no version, traversal, another file, no rdfs/ */
	static const char *const bad[] = {
		"https://h/rdfs/latest/rdf.yaml", "https://h/rdfs/../x/1/rdf.yaml", "https://h/rdfs/a/./1/rdf.yaml",
		"https://h/rdfs/a//1/rdf.yaml",   "https://h/rdfs/a/1/rdf.json",    "https://h/a/1/rdf.yaml",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check(import_legacy_paths(bad[i], path, sizeof(path), base, sizeof(base)) == -1, "accepted '%s'", bad[i]);
	check(import_legacy_paths(NULL, path, sizeof(path), base, sizeof(base)) == -1, "NULL");
	check(import_legacy_paths(u, path, 8, base, sizeof(base)) == -1, "small path buffer");
}

static struct check_test tests[] = {
	TEST(test_import__time),
	TEST(test_import__legacy_paths),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }
