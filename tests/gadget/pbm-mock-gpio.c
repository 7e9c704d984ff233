/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The emulated GPIO chip of pbm-mock-gpio.h. Threads: the test thread
 * drives inputs and reads outputs; umockdev's worker thread runs
 * on_handle_ioctl() for every ioctl of the code under test. Line state is
 * shared under chip->lock.
 */
#include "pbm-mock-gpio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <linux/gpio.h>

#define GPIO_MAJOR 254
#define CHIP_LABEL "pbm-mock-gpio"

typedef struct {
	gboolean requested;
	gboolean output;
	gboolean active_low; /* as requested */
	guint32 eventflags;  /* GPIOEVENT_REQUEST_*: 0 unless requested for events */
	gint event_fd;       /* the write end of the event pipe, or -1 */
	gboolean high;       /* the physical level */
	gboolean ever_output;
	gboolean busy;
	gchar consumer[GPIO_MAX_NAME_SIZE];
	gchar *handle_node;                 /* /dev/pbm-mock-gpioN-lineL */
	UMockdevIoctlClient *handle_client; /* the latest to open it */
} MockLine;

struct _PbmMockGpio {
	gatomicrefcount ref; /* the test's, and one per signal handler */
	UMockdevTestbed *testbed;
	UMockdevIoctlBase *handler;
	gchar *root;
	gchar *devnode;
	gchar *name;
	guint lines;
	GMutex lock;
	MockLine line[PBM_MOCK_GPIO_LINES_MAX];
};

static void
ioctl_return(UMockdevIoctlClient *client, glong ret, gint err)
{
	umockdev_ioctl_client_complete(client, ret, ret < 0 ? err : 0);
}

/* Resolves the client's argument as a buffer of size bytes. */
static UMockdevIoctlData *
arg_resolve(UMockdevIoctlClient *client, gsize size)
{
	return umockdev_ioctl_data_resolve(umockdev_ioctl_client_get_arg(client), 0, size, NULL);
}

/* ---- the chip's ioctls ---- */

static void
chip_info(PbmMockGpio *chip, UMockdevIoctlClient *client)
{
	g_autoptr(UMockdevIoctlData) d = arg_resolve(client, sizeof(struct gpiochip_info));
	struct gpiochip_info *info;

	if (d == NULL) {
		ioctl_return(client, -1, EFAULT);
		return;
	}
	info = (struct gpiochip_info *)d->data;
	memset(info, 0, sizeof(*info));
	g_strlcpy(info->name, chip->name, sizeof(info->name));
	g_strlcpy(info->label, CHIP_LABEL, sizeof(info->label));
	info->lines = chip->lines;
	ioctl_return(client, 0, 0);
}

static void
line_info(PbmMockGpio *chip, UMockdevIoctlClient *client)
{
	g_autoptr(UMockdevIoctlData) d = arg_resolve(client, sizeof(struct gpioline_info));
	struct gpioline_info *info;
	MockLine *l;
	guint32 offset;

	if (d == NULL) {
		ioctl_return(client, -1, EFAULT);
		return;
	}
	info = (struct gpioline_info *)d->data;
	offset = info->line_offset;
	if (offset >= chip->lines) {
		ioctl_return(client, -1, EINVAL);
		return;
	}
	l = &chip->line[offset];
	memset(info, 0, sizeof(*info));
	info->line_offset = offset;
	g_snprintf(info->name, sizeof(info->name), "line%u", offset);
	g_mutex_lock(&chip->lock);
	if (l->requested || l->busy)
		info->flags |= GPIOLINE_FLAG_KERNEL;
	if (l->requested && l->output)
		info->flags |= GPIOLINE_FLAG_IS_OUT;
	if (l->requested && l->active_low)
		info->flags |= GPIOLINE_FLAG_ACTIVE_LOW;
	g_strlcpy(info->consumer, l->busy ? "another-program" : l->consumer,
	          sizeof(info->consumer));
	g_mutex_unlock(&chip->lock);
	ioctl_return(client, 0, 0);
}

static void check_event_reader(MockLine *l);
static void check_handle_client(MockLine *l);

/* Takes line offset for a request; the kernel's errors. */
static gint
take_line(PbmMockGpio *chip, guint32 offset, const gchar *consumer, gboolean active_low)
{
	MockLine *l;

	if (offset >= chip->lines)
		return EINVAL;
	l = &chip->line[offset];
	check_event_reader(l);
	check_handle_client(l);
	if (l->requested || l->busy)
		return EBUSY;
	l->requested = TRUE;
	l->active_low = active_low;
	l->output = FALSE;
	l->eventflags = 0;
	g_strlcpy(l->consumer, consumer, sizeof(l->consumer));
	return 0;
}

static void
line_handle(PbmMockGpio *chip, UMockdevIoctlClient *client)
{
	g_autoptr(UMockdevIoctlData) d = arg_resolve(client, sizeof(struct gpiohandle_request));
	struct gpiohandle_request *req;
	MockLine *l;
	gint err, fd;

	if (d == NULL) {
		ioctl_return(client, -1, EFAULT);
		return;
	}
	req = (struct gpiohandle_request *)d->data;
	if (req->lines != 1) {
		ioctl_return(client, -1, EINVAL); /* the mock requests one line at a time */
		return;
	}
	g_mutex_lock(&chip->lock);
	err = take_line(chip, req->lineoffsets[0], req->consumer_label,
	                (req->flags & GPIOHANDLE_REQUEST_ACTIVE_LOW) != 0);
	if (err != 0) {
		g_mutex_unlock(&chip->lock);
		ioctl_return(client, -1, err);
		return;
	}
	l = &chip->line[req->lineoffsets[0]];
	if (req->flags & GPIOHANDLE_REQUEST_OUTPUT) {
		l->output = TRUE;
		l->ever_output = TRUE;
		l->high = (req->default_values[0] != 0) != l->active_low;
	}
	g_mutex_unlock(&chip->lock);
	/* The handle is another emulated node: its ioctls come back here. */
	fd = open(l->handle_node, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		g_mutex_lock(&chip->lock);
		l->requested = FALSE;
		g_mutex_unlock(&chip->lock);
		ioctl_return(client, -1, err);
		return;
	}
	req->fd = fd;
	ioctl_return(client, 0, 0);
}

static void
line_event(PbmMockGpio *chip, UMockdevIoctlClient *client)
{
	g_autoptr(UMockdevIoctlData) d = arg_resolve(client, sizeof(struct gpioevent_request));
	struct gpioevent_request *req;
	MockLine *l;
	gint fds[2];
	gint err;

	if (d == NULL) {
		ioctl_return(client, -1, EFAULT);
		return;
	}
	req = (struct gpioevent_request *)d->data;
	if (g_unix_open_pipe(fds, FD_CLOEXEC, NULL) == FALSE) {
		ioctl_return(client, -1, EMFILE);
		return;
	}
	/* The mock never blocks on a reader that stopped reading. */
	g_unix_set_fd_nonblocking(fds[1], TRUE, NULL);
	g_mutex_lock(&chip->lock);
	err = take_line(chip, req->lineoffset, req->consumer_label,
	                (req->handleflags & GPIOHANDLE_REQUEST_ACTIVE_LOW) != 0);
	if (err != 0) {
		g_mutex_unlock(&chip->lock);
		close(fds[0]);
		close(fds[1]);
		ioctl_return(client, -1, err);
		return;
	}
	l = &chip->line[req->lineoffset];
	l->eventflags = req->eventflags & GPIOEVENT_REQUEST_BOTH_EDGES;
	l->event_fd = fds[1];
	g_mutex_unlock(&chip->lock);
	req->fd = fds[0];
	ioctl_return(client, 0, 0);
}

/* ---- a line handle's ioctls ---- */

static MockLine *
line_of_node(PbmMockGpio *chip, const gchar *devnode)
{
	for (guint i = 0; i < chip->lines; i++) {
		if (g_strcmp0(chip->line[i].handle_node, devnode) == 0)
			return &chip->line[i];
	}
	return NULL;
}

static void
handle_values(PbmMockGpio *chip, MockLine *l, UMockdevIoctlClient *client, gboolean set)
{
	g_autoptr(UMockdevIoctlData) d = arg_resolve(client, sizeof(struct gpiohandle_data));
	struct gpiohandle_data *data;

	if (d == NULL) {
		ioctl_return(client, -1, EFAULT);
		return;
	}
	data = (struct gpiohandle_data *)d->data;
	g_mutex_lock(&chip->lock);
	if (set && !l->output) {
		g_mutex_unlock(&chip->lock);
		ioctl_return(client, -1, EPERM);
		return;
	}
	if (set)
		l->high = (data->values[0] != 0) != l->active_low;
	else
		data->values[0] = l->high != l->active_low;
	g_mutex_unlock(&chip->lock);
	ioctl_return(client, 0, 0);
}

static gboolean
on_handle_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer data)
{
	PbmMockGpio *chip = data;
	const gchar *devnode = umockdev_ioctl_client_get_devnode(client);
	guint request = (guint)umockdev_ioctl_client_get_request(client);
	MockLine *l;

	if (g_strcmp0(devnode, chip->devnode) == 0) {
		switch (request) {
		case GPIO_GET_CHIPINFO_IOCTL:
			chip_info(chip, client);
			return TRUE;
		case GPIO_GET_LINEINFO_IOCTL:
			line_info(chip, client);
			return TRUE;
		case GPIO_GET_LINEHANDLE_IOCTL:
			line_handle(chip, client);
			return TRUE;
		case GPIO_GET_LINEEVENT_IOCTL:
			line_event(chip, client);
			return TRUE;
		default:
			ioctl_return(client, -1, ENOTTY);
			return TRUE;
		}
	}
	l = line_of_node(chip, devnode);
	if (l != NULL && request == GPIOHANDLE_SET_LINE_VALUES_IOCTL)
		handle_values(chip, l, client, TRUE);
	else if (l != NULL && request == GPIOHANDLE_GET_LINE_VALUES_IOCTL)
		handle_values(chip, l, client, FALSE);
	else
		ioctl_return(client, -1, ENOTTY);
	return TRUE;
}

static PbmMockGpio *
chip_ref(PbmMockGpio *chip)
{
	g_atomic_ref_count_inc(&chip->ref);
	return chip;
}

static void
chip_unref(PbmMockGpio *chip)
{
	if (!g_atomic_ref_count_dec(&chip->ref))
		return;
	for (guint i = 0; i < chip->lines; i++) {
		g_free(chip->line[i].handle_node);
		g_clear_object(&chip->line[i].handle_client);
		if (chip->line[i].event_fd >= 0)
			close(chip->line[i].event_fd);
	}
	g_object_unref(chip->testbed);
	g_mutex_clear(&chip->lock);
	g_free(chip->root);
	g_free(chip->devnode);
	g_free(chip->name);
	g_free(chip);
}

static void
closure_unref(gpointer data, GClosure *closure)
{
	chip_unref(data);
}

/* Keeps the handle node's client, whose end tells when the code under
 * test closed the handle (umockdev 0.17 emits no client-vanished). */
static void
on_client_connected(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer data)
{
	PbmMockGpio *chip = data;
	MockLine *l = line_of_node(chip, umockdev_ioctl_client_get_devnode(client));

	if (l == NULL)
		return;
	g_mutex_lock(&chip->lock);
	g_set_object(&l->handle_client, client);
	g_mutex_unlock(&chip->lock);
}

/* A closed handle releases its line; the kernel keeps an output's level.
 * Called with the lock held. */
static void
check_handle_client(MockLine *l)
{
	if (l->handle_client == NULL || umockdev_ioctl_client_get_connected(l->handle_client))
		return;
	g_clear_object(&l->handle_client);
	l->requested = FALSE;
	l->output = FALSE;
	l->consumer[0] = '\0';
}

/* ---- the test's side ---- */

static gboolean
make_node(PbmMockGpio *chip, const gchar *devnode, GError **error)
{
	g_autofree gchar *path = g_build_filename(chip->root, devnode, NULL);
	g_autofree gchar *dir = g_path_get_dirname(path);

	if (g_mkdir_with_parents(dir, 0755) < 0 || !g_file_set_contents(path, "", 0, error)) {
		if (error != NULL && *error == NULL)
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			            "cannot create %s: %s", dir, g_strerror(errno));
		return FALSE;
	}
	return umockdev_testbed_attach_ioctl(chip->testbed, devnode, chip->handler, error);
}

PbmMockGpio *
pbm_mock_gpio_new(UMockdevTestbed *testbed, guint number, guint lines, GError **error)
{
	g_autoptr(PbmMockGpio) chip = NULL;
	g_autofree gchar *syspath = NULL;
	g_autofree gchar *dev = NULL;

	g_return_val_if_fail(lines > 0 && lines <= PBM_MOCK_GPIO_LINES_MAX, NULL);

	chip = g_new0(PbmMockGpio, 1);
	g_atomic_ref_count_init(&chip->ref);
	g_mutex_init(&chip->lock);
	chip->testbed = g_object_ref(testbed);
	chip->root = umockdev_testbed_get_root_dir(testbed);
	chip->name = g_strdup_printf("gpiochip%u", number);
	chip->devnode = g_strdup_printf("/dev/%s", chip->name);
	chip->lines = lines;
	for (guint i = 0; i < lines; i++) {
		chip->line[i].event_fd = -1;
		chip->line[i].handle_node =
		        g_strdup_printf("/dev/pbm-mock-gpio%u-line%u", number, i);
	}
	chip->handler = umockdev_ioctl_base_new();
	g_signal_connect_data(chip->handler, "handle-ioctl", G_CALLBACK(on_handle_ioctl),
	                      chip_ref(chip), closure_unref, 0);
	g_signal_connect_data(chip->handler, "client-connected", G_CALLBACK(on_client_connected),
	                      chip_ref(chip), closure_unref, 0);
	if (!make_node(chip, chip->devnode, error))
		return NULL;
	for (guint i = 0; i < lines; i++) {
		if (!make_node(chip, chip->line[i].handle_node, error))
			return NULL;
	}
	/* libgpiod checks that the node's major:minor is the sysfs device's
	 * "dev", newline and all. */
	dev = g_strdup_printf("%d:%u\n", GPIO_MAJOR, number);
	syspath = umockdev_testbed_add_device(testbed, "gpio", chip->name, NULL, "dev", dev, NULL,
	                                      "DEVNAME", chip->devnode, NULL);
	if (syspath == NULL) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "umockdev could not add the device %s", chip->name);
		return NULL;
	}
	return g_steal_pointer(&chip);
}

/* Detaches the nodes and drops the test's reference; clients that are
 * still open keep the state until they close. */
void
pbm_mock_gpio_free(PbmMockGpio *chip)
{
	if (chip == NULL)
		return;
	if (chip->handler != NULL) {
		for (guint i = 0; i < chip->lines; i++)
			umockdev_testbed_detach_ioctl(chip->testbed, chip->line[i].handle_node,
			                              NULL);
		umockdev_testbed_detach_ioctl(chip->testbed, chip->devnode, NULL);
		g_signal_handlers_disconnect_matched(chip->handler, G_SIGNAL_MATCH_DATA, 0, 0, NULL,
		                                     NULL, chip);
		g_clear_object(&chip->handler);
	}
	chip_unref(chip);
}

/* The edge the kernel reports, by the logical level after it. */
static gboolean
emit_edge(MockLine *l, gboolean high, guint64 timestamp_ns)
{
	gboolean logical_high = high != l->active_low;
	guint32 id = logical_high ? GPIOEVENT_EVENT_RISING_EDGE : GPIOEVENT_EVENT_FALLING_EDGE;
	guint32 wanted =
	        logical_high ? GPIOEVENT_REQUEST_RISING_EDGE : GPIOEVENT_REQUEST_FALLING_EDGE;
	struct gpioevent_data ev = { .timestamp = timestamp_ns, .id = id };

	if (l->event_fd < 0 || !(l->eventflags & wanted))
		return FALSE;
	if (write(l->event_fd, &ev, sizeof(ev)) == (gssize)sizeof(ev))
		return TRUE;
	/* EPIPE: the reader closed its end, which releases the line. */
	close(l->event_fd);
	l->event_fd = -1;
	l->requested = FALSE;
	l->eventflags = 0;
	l->consumer[0] = '\0';
	return FALSE;
}

gboolean
pbm_mock_gpio_set_input(PbmMockGpio *chip, guint line, gboolean high, guint64 timestamp_ns)
{
	MockLine *l;
	gboolean sent = FALSE;

	g_return_val_if_fail(line < chip->lines, FALSE);

	l = &chip->line[line];
	g_mutex_lock(&chip->lock);
	if (!l->output && l->high != high) {
		l->high = high;
		sent = emit_edge(l, high, timestamp_ns);
	}
	g_mutex_unlock(&chip->lock);
	return sent;
}

gint
pbm_mock_gpio_get_output(PbmMockGpio *chip, guint line)
{
	gint level;

	g_return_val_if_fail(line < chip->lines, -1);

	g_mutex_lock(&chip->lock);
	level = chip->line[line].ever_output ? (chip->line[line].high ? 1 : 0) : -1;
	g_mutex_unlock(&chip->lock);
	return level;
}

/* Whether the reader closed its end of the event pipe: the kernel
 * releases the line when its event file closes. */
static void
check_event_reader(MockLine *l)
{
	struct pollfd p = { .fd = l->event_fd, .events = POLLOUT };

	if (l->event_fd < 0 || poll(&p, 1, 0) != 1 || !(p.revents & POLLERR))
		return;
	close(l->event_fd);
	l->event_fd = -1;
	l->requested = FALSE;
	l->eventflags = 0;
	l->consumer[0] = '\0';
}

gchar *
pbm_mock_gpio_get_consumer(PbmMockGpio *chip, guint line)
{
	gchar *consumer;

	g_return_val_if_fail(line < chip->lines, NULL);

	g_mutex_lock(&chip->lock);
	check_event_reader(&chip->line[line]);
	check_handle_client(&chip->line[line]);
	consumer = chip->line[line].requested ? g_strdup(chip->line[line].consumer) : NULL;
	g_mutex_unlock(&chip->lock);
	return consumer;
}

void
pbm_mock_gpio_set_busy(PbmMockGpio *chip, guint line, gboolean busy)
{
	g_return_if_fail(line < chip->lines);

	g_mutex_lock(&chip->lock);
	chip->line[line].busy = busy;
	g_mutex_unlock(&chip->lock);
}

void
pbm_mock_gpio_hang_up(PbmMockGpio *chip, guint line)
{
	g_return_if_fail(line < chip->lines);

	g_mutex_lock(&chip->lock);
	if (chip->line[line].event_fd >= 0) {
		close(chip->line[line].event_fd);
		chip->line[line].event_fd = -1;
	}
	g_mutex_unlock(&chip->lock);
}
