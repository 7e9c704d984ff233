/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pbm-gadget-configfs.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sys/mount.h>
#include <unistd.h>

#include "pbm-gadget-errors.h"

/* The function instance is "ffs.<gadget name>", and its functionfs is
 * mounted by that name: FunctionFS instance names are global, so two
 * gadgets need two names. */
#define CONFIG "c.1"
#define LANG_EN_US "0x409"
/* The board has its own supply: the LEDs need far more than a USB port
 * gives, so the gadget draws next to nothing from the host. */
#define SELF_POWERED "0xc0"
#define MAX_POWER_MA "100"

struct _PbmGadgetConfigfs {
	gchar *dir;
	gchar *name;
	gchar *udc_class;
	gchar *mount_dir;
	gchar *udc_wanted;
	gchar *udc;
	gboolean mounted;
};

static gboolean
write_attr(const gchar *dir, const gchar *name, const gchar *value, GError **error)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) local = NULL;

	if (g_file_set_contents_full(path, value, -1, G_FILE_SET_CONTENTS_NONE, 0666, &local))
		return TRUE;
	g_set_error(error, PBM_GADGET_ERROR, PBM_GADGET_ERROR_CONFIGFS, "%s: writing \"%s\": %s",
	            path, value, local->message);
	return FALSE;
}

static gboolean
make_dir(const gchar *path, GError **error)
{
	if (g_mkdir(path, 0755) == 0 || errno == EEXIST)
		return TRUE;
	g_set_error(error, PBM_GADGET_ERROR, PBM_GADGET_ERROR_CONFIGFS,
	            "%s: %s; is configfs mounted and the libcomposite module loaded?", path,
	            g_strerror(errno));
	return FALSE;
}

/* Best effort, in the order the kernel requires: a leftover that cannot
 * be removed shows up as an error when the gadget is made again. */
static void
remove_gadget(const gchar *dir, const gchar *name)
{
	g_autofree gchar *function = g_strconcat("ffs.", name, NULL);
	g_autofree gchar *link = g_build_filename(dir, "configs", CONFIG, function, NULL);
	g_autofree gchar *config_strings =
	        g_build_filename(dir, "configs", CONFIG, "strings", LANG_EN_US, NULL);
	g_autofree gchar *config = g_build_filename(dir, "configs", CONFIG, NULL);
	g_autofree gchar *instance = g_build_filename(dir, "functions", function, NULL);
	g_autofree gchar *strings = g_build_filename(dir, "strings", LANG_EN_US, NULL);
	const gchar *const paths[] = { link, config_strings, config, instance, strings };

	if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
		return;
	/* configfs cannot make files: written in place, never by rename. */
	(void)write_attr(dir, "UDC", "\n", NULL);
	for (guint i = 0; i < G_N_ELEMENTS(paths); i++) {
		if (g_remove(paths[i]) != 0 && errno != ENOENT)
			g_debug("%s: %s", paths[i], g_strerror(errno));
	}
	if (g_rmdir(dir) != 0)
		g_debug("%s: %s", dir, g_strerror(errno));
}

static gboolean
write_identity(const gchar *dir, const PbmGadgetConfig *config, GError **error)
{
	g_autofree gchar *pid = g_strdup_printf("0x%04x", config->product_id);
	g_autofree gchar *vid = g_strdup_printf("0x%04x", (guint)PBM_USB_VID);
	g_autofree gchar *strings = g_build_filename(dir, "strings", LANG_EN_US, NULL);

	return write_attr(dir, "idVendor", vid, error) &&
	       write_attr(dir, "idProduct", pid, error) &&
	       write_attr(dir, "bcdUSB", "0x0200", error) &&
	       write_attr(dir, "bcdDevice", "0x0101", error) &&
	       write_attr(dir, "max_speed", "full-speed", error) && make_dir(strings, error) &&
	       write_attr(strings, "manufacturer", config->manufacturer, error) &&
	       write_attr(strings, "product", config->product, error) &&
	       write_attr(strings, "serialnumber", config->model.serial, error);
}

static gboolean
write_configuration(const gchar *dir, const gchar *name, GError **error)
{
	g_autofree gchar *instance = g_strconcat("ffs.", name, NULL);
	g_autofree gchar *config = g_build_filename(dir, "configs", CONFIG, NULL);
	g_autofree gchar *strings = g_build_filename(config, "strings", LANG_EN_US, NULL);
	g_autofree gchar *function = g_build_filename(dir, "functions", instance, NULL);
	g_autofree gchar *link = g_build_filename(config, instance, NULL);

	if (!make_dir(config, error) || !write_attr(config, "bmAttributes", SELF_POWERED, error) ||
	    !write_attr(config, "MaxPower", MAX_POWER_MA, error) || !make_dir(strings, error) ||
	    !write_attr(strings, "configuration", "light therapy panel", error) ||
	    !make_dir(function, error))
		return FALSE;
	if (symlink(function, link) == 0 || errno == EEXIST)
		return TRUE;
	g_set_error(error, PBM_GADGET_ERROR, PBM_GADGET_ERROR_CONFIGFS, "%s: %s", link,
	            g_strerror(errno));
	return FALSE;
}

static gboolean
mount_functionfs(PbmGadgetConfigfs *g, GError **error)
{
	/* A killed pbm-gadget may have left its mount behind. */
	(void)umount2(g->mount_dir, MNT_DETACH);
	if (g_mkdir_with_parents(g->mount_dir, 0700) != 0 ||
	    mount(g->name, g->mount_dir, "functionfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) !=
	            0) {
		g_set_error(error, PBM_GADGET_ERROR, PBM_GADGET_ERROR_CONFIGFS,
		            "mounting functionfs \"%s\" on %s: %s; pbm-gadget needs root and the "
		            "usb_f_fs module",
		            g->name, g->mount_dir, g_strerror(errno));
		return FALSE;
	}
	g->mounted = TRUE;
	return TRUE;
}

PbmGadgetConfigfs *
pbm_gadget_configfs_new(const PbmGadgetConfigfsPaths *paths, const PbmGadgetConfig *config,
                        GError **error)
{
	g_autoptr(PbmGadgetConfigfs) g = g_new0(PbmGadgetConfigfs, 1);
	g_autofree gchar *gadgets = g_build_filename(paths->configfs, "usb_gadget", NULL);

	g->dir = g_build_filename(gadgets, paths->name, NULL);
	g->name = g_strdup(paths->name);
	g->udc_class = g_strdup(paths->udc_class);
	g->mount_dir = g_strdup(paths->mount_dir);
	g->udc_wanted = g_strdup(config->udc);
	if (!g_file_test(gadgets, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, PBM_GADGET_ERROR, PBM_GADGET_ERROR_CONFIGFS,
		            "%s does not exist: mount configfs there and load the libcomposite "
		            "module (modprobe libcomposite)",
		            gadgets);
		return NULL;
	}
	remove_gadget(g->dir, g->name);
	if (!make_dir(g->dir, error) || !write_identity(g->dir, config, error) ||
	    !write_configuration(g->dir, g->name, error) || !mount_functionfs(g, error))
		return NULL;
	return g_steal_pointer(&g);
}

static gchar *
only_udc(const gchar *udc_class, GError **error)
{
	g_autoptr(GDir) dir = g_dir_open(udc_class, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *list = NULL;
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	if (names->len == 1)
		return g_strdup(g_ptr_array_index(names, 0));
	if (names->len == 0) {
		g_set_error(error, PBM_GADGET_ERROR, PBM_GADGET_ERROR_NO_UDC,
		            "%s lists no USB device controller: enable the board's (on a Raspberry "
		            "Pi: dtoverlay=dwc2 in config.txt and the USB-C or OTG port)",
		            udc_class);
		return NULL;
	}
	g_ptr_array_add(names, NULL);
	list = g_strjoinv(", ", (gchar **)names->pdata);
	g_set_error(error, PBM_GADGET_ERROR, PBM_GADGET_ERROR_NO_UDC,
	            "this board has several USB device controllers (%s): name one with udc in "
	            "the usb group of the configuration",
	            list);
	return NULL;
}

gboolean
pbm_gadget_configfs_bind(PbmGadgetConfigfs *g, GError **error)
{
	g_autofree gchar *udc = NULL;
	g_autofree gchar *line = NULL;

	udc = g->udc_wanted != NULL ? g_strdup(g->udc_wanted) : only_udc(g->udc_class, error);
	if (udc == NULL)
		return FALSE;
	line = g_strconcat(udc, "\n", NULL);
	if (!write_attr(g->dir, "UDC", line, error)) {
		g_prefix_error(error, "binding to the USB device controller %s: ", udc);
		return FALSE;
	}
	g_free(g->udc);
	g->udc = g_steal_pointer(&udc);
	return TRUE;
}

const gchar *
pbm_gadget_configfs_udc(PbmGadgetConfigfs *g)
{
	return g->udc;
}

void
pbm_gadget_configfs_unbind(PbmGadgetConfigfs *g)
{
	g_autoptr(GError) error = NULL;

	if (g->udc == NULL)
		return;
	if (!write_attr(g->dir, "UDC", "\n", &error))
		g_warning("%s", error->message);
	g_clear_pointer(&g->udc, g_free);
}

void
pbm_gadget_configfs_free(PbmGadgetConfigfs *g)
{
	if (g == NULL)
		return;
	pbm_gadget_configfs_unbind(g);
	if (g->mounted && umount2(g->mount_dir, MNT_DETACH) != 0)
		g_warning("unmounting %s: %s", g->mount_dir, g_strerror(errno));
	remove_gadget(g->dir, g->name);
	g_free(g->dir);
	g_free(g->name);
	g_free(g->udc_class);
	g_free(g->mount_dir);
	g_free(g->udc_wanted);
	g_free(g->udc);
	g_free(g);
}
