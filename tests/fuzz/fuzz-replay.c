/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Runs a fuzz target over the files of a corpus without libFuzzer, so that
 * every compiler's build (and its sanitizers) replays the corpora in
 * meson test. Usage: fuzz-replay-NAME FILE|DIR...
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static guint
replay_file(const gchar *path)
{
	g_autofree gchar *data = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &data, &len, NULL)) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(EXIT_FAILURE);
	}
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	return 1;
}

static guint
replay(const gchar *path)
{
	g_autoptr(GDir) dir = NULL;
	const gchar *name;
	guint n = 0;

	if (!g_file_test(path, G_FILE_TEST_IS_DIR))
		return replay_file(path);
	dir = g_dir_open(path, 0, NULL);
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);
		n += replay(child);
	}
	return n;
}

int
main(int argc, char **argv)
{
	guint n = 0;

	for (int i = 1; i < argc; i++)
		n += replay(argv[i]);
	if (n == 0) {
		fprintf(stderr, "no corpus files given\n");
		return EXIT_FAILURE;
	}
	printf("# replayed %u inputs\n", n);
	return EXIT_SUCCESS;
}
