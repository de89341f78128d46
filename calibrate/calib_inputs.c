/* calib_inputs.c - the bytes both sides of calibration run on: each
 * payload pickled as `casbench pickle NAME` writes it, and that blob as a
 * file for the codec tools (see calibrate.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib_impl.h"
#include "pickle.h"
#include "util.h"

int calib_inputs_add(calib_inputs *in, const char *spec, int nonempty, char *err, size_t errlen)
{
    int status = CB_EXIT_INPUT;
    if (in->n == CALIB_MAX_PAYLOADS)
        return calib_err(CB_EXIT_USAGE, err, errlen, "more than %d payloads", CALIB_MAX_PAYLOADS);
    size_t i = in->n;
    calib_blob *b = &in->blob[i];
    memset(b, 0, sizeof *b);
    in->pl[i] = payload_create(spec, 0, &status, err, errlen);
    if (!in->pl[i]) return status;
    in->owned[i] = NULL;
    in->n++;   /* from here on calib_inputs_free frees it */
    b->name = payload_name(in->pl[i]);
    b->obj = payload_object(in->pl[i]);
    pickle_options popt = PICKLE_OPTIONS_DEFAULT;
    if (payload_blob(in->pl[i], &popt, &b->blob, &b->len, &in->owned[i], &status, err, errlen) != 0) return status;
    if (b->len == 0 && nonempty) return calib_err(CB_EXIT_INPUT, err, errlen, "an empty blob cannot be benchmarked");
    return 0;
}

int calib_inputs_write(calib_inputs *in, const char *dir, char *err, size_t errlen)
{
    for (size_t i = 0; i < in->n; i++) {
        calib_blob *b = &in->blob[i];
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%zu-%s.pkl", dir, i, b->name) >= (int)sizeof path)
            return calib_err(CB_EXIT_INPUT, err, errlen, "%s: name too long for a file", CB_Q(b->name));
        for (char *p = path + strlen(dir) + 1; *p; p++)
            if (*p == '/' || *p == ':' || *p == ',' || *p == '=') *p = '_';
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) return calib_err(CB_EXIT_ENV, err, errlen, "%s: %s", path, strerror(errno));
        snprintf(b->file, sizeof b->file, "%s", path);
        int w = cb_write_all(fd, b->blob, b->len), e = errno;
        if (close(fd) != 0 && w == 0) w = -1, e = errno;
        if (w != 0) return calib_err(CB_EXIT_ENV, err, errlen, "%s: %s", path, strerror(e));
    }
    return 0;
}

void calib_inputs_unlink(const calib_inputs *in)
{
    for (size_t i = 0; i < in->n; i++)
        if (in->blob[i].file[0]) unlink(in->blob[i].file);
}

void calib_inputs_free(calib_inputs *in)
{
    for (size_t i = 0; i < in->n; i++) {
        payload_free(in->pl[i]);
        free(in->owned[i]);
    }
    memset(in, 0, sizeof *in);
}

const calib_blob *calib_pickle_input(const calib_inputs *in)
{
    for (size_t i = 0; i < in->n; i++)
        if (in->blob[i].obj && strcmp(in->blob[i].name, "weights") == 0) return &in->blob[i];
    for (size_t i = 0; i < in->n; i++)
        if (in->blob[i].obj) return &in->blob[i];
    return NULL;
}
