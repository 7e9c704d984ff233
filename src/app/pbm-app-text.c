/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What the app says to people (pbm-app-text.h). pbmd's own messages
 * already say what to do; the app adds what a desktop user needs on top.
 */
#include "pbm-app-text.h"

#include "pbm-dbus-error.h"

#include <string.h>

static gchar *
bus_error_text(const GError *error, const gchar *message)
{
	switch (error->code) {
	case G_DBUS_ERROR_SERVICE_UNKNOWN:
	case G_DBUS_ERROR_NAME_HAS_NO_OWNER:
		return g_strdup("pbmd is not running. It starts when a panel is plugged in, or "
		                "with “systemctl start pbmd”.");
	case G_DBUS_ERROR_NO_REPLY:
	case G_DBUS_ERROR_TIMEOUT:
		return g_strdup("pbmd did not answer in time; it may be restarting. Try again "
		                "in a moment.");
	case G_DBUS_ERROR_ACCESS_DENIED:
		return g_strdup_printf("The system bus refused the call (%s). Is pbmd installed "
		                       "with its bus policy?",
		                       message);
	default:
		return g_strdup(message);
	}
}

/* pbmd's messages may or may not end a sentence; the app's words follow. */
static gchar *
sentence(const gchar *message)
{
	gsize n = strlen(message);

	if (n > 0 && strchr(".!?", message[n - 1]) != NULL)
		return g_strdup(message);
	return g_strconcat(message, ".", NULL);
}

static gchar *
pbmd_error_text(const GError *error, const gchar *raw)
{
	g_autofree gchar *message = sentence(raw);

	switch ((PbmDBusError)error->code) {
	case PBM_DBUS_ERROR_NOT_AUTHORIZED:
		return g_strdup_printf(
		        "You may not do this: %s To run sessions, ask whoever administers this "
		        "computer to add you to pbmd's control group (pbmd's message names it; "
		        "then log out and in), or use the app in your own desktop session, "
		        "where polkit asks for permission.",
		        message);
	case PBM_DBUS_ERROR_NO_PANEL:
		return g_strdup_printf("%s Plug the panel in and switch it on; it shows up "
		                       "here by itself.",
		                       message);
	case PBM_DBUS_ERROR_SAFETY_LIMIT:
		return g_strdup_printf("Refused for your safety: %s", message);
	case PBM_DBUS_ERROR_FAULT:
		return g_strdup_printf("The panel reports a fault: %s", message);
	case PBM_DBUS_ERROR_DEVICE:
		return g_strdup_printf("The panel did not answer: %s Check its cable and power.",
		                       message);
	default:
		return g_strdup(message);
	}
}

gchar *
pbm_app_error_text(const GError *error)
{
	g_autoptr(GError) copy = g_error_copy(error);

	g_dbus_error_strip_remote_error(copy);
	if (copy->domain == PBM_DBUS_ERROR)
		return pbmd_error_text(copy, copy->message);
	if (copy->domain == G_DBUS_ERROR)
		return bus_error_text(copy, copy->message);
	if (g_error_matches(copy, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
		return g_strdup("pbmd did not answer in time; it may be restarting. Try again "
		                "in a moment.");
	return g_strdup(copy->message);
}

const gchar *
pbm_app_outcome_word(const gchar *outcome)
{
	static const struct {
		const gchar *outcome;
		const gchar *word;
	} words[] = {
		{ "completed", "Completed" },
		{ "stopped", "Stopped" },
		{ "stopped-at-panel", "Stopped at the panel" },
		{ "fault", "Fault" },
		{ "disconnected", "Disconnected" },
		{ "daemon-stopped", "pbmd stopped" },
		{ "interrupted", "Interrupted" },
	};

	for (guint i = 0; i < G_N_ELEMENTS(words); i++) {
		if (g_strcmp0(outcome, words[i].outcome) == 0)
			return words[i].word;
	}
	return outcome != NULL && *outcome != '\0' ? outcome : "Ended";
}

gchar *
pbm_app_dose_text(gdouble red, gdouble nir)
{
	return g_strdup_printf("red %.2f J/cm², NIR %.2f J/cm²", red, nir);
}

gchar *
pbm_app_clock_text(guint64 usec)
{
	guint64 s = usec / G_USEC_PER_SEC;

	if (s >= 3600)
		return g_strdup_printf("%" G_GUINT64_FORMAT ":%02u:%02u", s / 3600,
		                       (guint)(s / 60 % 60), (guint)(s % 60));
	return g_strdup_printf("%u:%02u", (guint)(s / 60), (guint)(s % 60));
}

gchar *
pbm_app_panel_text(PbmDBusPanel *panel)
{
	const gchar *const *faults = pbm_dbus_panel_get_faults(panel);
	g_autofree gchar *fault_text =
	        faults != NULL && faults[0] != NULL ? g_strjoinv(", ", (gchar **)faults) : NULL;

	if (!pbm_dbus_panel_get_connected(panel))
		return g_strdup_printf("%s %s: disconnected", pbm_dbus_panel_get_model(panel),
		                       pbm_dbus_panel_get_serial(panel));
	return g_strdup_printf("%s %s: connected, %s, %.1f °C, %s", pbm_dbus_panel_get_model(panel),
	                       pbm_dbus_panel_get_serial(panel), pbm_dbus_panel_get_state(panel),
	                       pbm_dbus_panel_get_temperature(panel),
	                       fault_text != NULL ? fault_text : "no faults");
}
