/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The application (pbm-app.h). pbmd lives on the system bus; --address
 * and --session are for the demo and the tests, as with pbmctl.
 */
#include "pbm-app.h"

#include "config.h"
#include "pbm-client.h"
#include "pbm-window.h"

struct _PbmApp {
	AdwApplication parent_instance;
	GBusType bus_type;
	gchar *address;
	PbmClient *client;
};

G_DEFINE_TYPE(PbmApp, pbm_app, ADW_TYPE_APPLICATION)

static gint
pbm_app_handle_local_options(GApplication *app, GVariantDict *options)
{
	PbmApp *self = PBM_APP(app);

	if (g_variant_dict_contains(options, "version")) {
		g_print("pbm-therapy %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (g_variant_dict_lookup(options, "address", "s", &self->address)) {
		if (*self->address == '\0' || !g_dbus_is_address(self->address)) {
			g_printerr("pbm-therapy: --address needs a D-Bus address, e.g. "
			           "unix:path=/run/my-bus (got \"%s\")\n",
			           self->address);
			return 2;
		}
		/* a pbmd of its own: not the window of the desktop's instance */
		g_application_set_flags(app,
		                        g_application_get_flags(app) | G_APPLICATION_NON_UNIQUE);
	}
	if (g_variant_dict_contains(options, "session"))
		self->bus_type = G_BUS_TYPE_SESSION;
	return -1;
}

static void
pbm_app_activate(GApplication *app)
{
	PbmApp *self = PBM_APP(app);
	GtkWindow *window = gtk_application_get_active_window(GTK_APPLICATION(app));

	if (window == NULL) {
		self->client = pbm_client_new(self->bus_type, self->address);
		window = GTK_WINDOW(pbm_window_new(ADW_APPLICATION(app), self->client));
		pbm_client_connect(self->client);
	}
	gtk_window_present(window);
}

static void
pbm_app_finalize(GObject *object)
{
	PbmApp *self = PBM_APP(object);

	g_clear_object(&self->client);
	g_free(self->address);
	G_OBJECT_CLASS(pbm_app_parent_class)->finalize(object);
}

static void
pbm_app_class_init(PbmAppClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = pbm_app_finalize;
	G_APPLICATION_CLASS(klass)->handle_local_options = pbm_app_handle_local_options;
	G_APPLICATION_CLASS(klass)->activate = pbm_app_activate;
}

static void
pbm_app_init(PbmApp *self)
{
	static const GOptionEntry entries[] = {
		{ "address", 0, 0, G_OPTION_ARG_STRING, NULL,
		  "Talk to pbmd on the bus at ADDRESS (a private bus, as in the demo)", "ADDRESS" },
		{ "session", 0, 0, G_OPTION_ARG_NONE, NULL,
		  "Talk to pbmd on the session bus (pbmd --session)", NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, NULL, "Print the version and exit", NULL },
		{ NULL },
	};

	self->bus_type = G_BUS_TYPE_SYSTEM;
	g_application_add_main_option_entries(G_APPLICATION(self), entries);
	g_application_set_option_context_summary(
	        G_APPLICATION(self),
	        "Runs light therapy sessions on the panels pbmd drives. See pbm-therapy(1).");
}

PbmApp *
pbm_app_new(void)
{
	return g_object_new(PBM_TYPE_APP, "application-id", PBM_APP_ID, "flags",
	                    G_APPLICATION_DEFAULT_FLAGS, NULL);
}
