/* pyserve.c - see pyserve.h. */
#include "pyserve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "strbuf.h"
#include "util.h"

struct pyserve {
    pid_t pid;
    int to_child, from_child;   /* -1 once closed */
    int gone;                   /* a failure was said: never asked again */
    char line[1024];
    size_t nline;
    pyserve_cell *cells;        /* as listed after "ready" */
    size_t ncells;
};

static void free_cells(pyserve *p)
{
    for (size_t i = 0; i < p->ncells; i++) free(p->cells[i].text);
    free(p->cells);
    p->cells = NULL;
    p->ncells = 0;
}

/* "cell I payload protocol stage variant codec level hash alloc est" (tabs)
 * into p->cells[i]; 0, or -1 when the line is not that. */
static int parse_cell(pyserve *p, size_t i)
{
    pyserve_cell *c = &p->cells[i];
    char *f[11];
    size_t nf = 0;
    c->text = cb_xstrdup(p->line);
    for (char *t = c->text, *tab; nf < 11; t = tab + 1) {
        f[nf++] = t;
        if (!(tab = strchr(t, '\t'))) break;
        *tab = '\0';
    }
    if (nf != 11 || strcmp(f[0], "cell") != 0 || strtoul(f[1], NULL, 10) != i) return -1;
    c->payload = f[2];
    c->protocol = atoi(f[3]);
    c->stage = f[4];
    c->variant = f[5];
    c->codec = f[6];
    c->level = atoi(f[7]);
    c->hash = f[8];
    c->alloc = f[9];
    c->est_ns = strtod(f[10], NULL);
    return 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int pyserve_script(char *out, size_t cap)
{
    const char *env = getenv("CASBENCH_PYTHON_PATH_SCRIPT");
    char exe[PATH_MAX];
    ssize_t n;
    if (env && *env) return snprintf(out, cap, "%s", env) < (int)cap && access(out, R_OK) == 0 ? 0 : -1;
    if (access("infra/python_path.py", R_OK) == 0)
        return snprintf(out, cap, "infra/python_path.py") < (int)cap ? 0 : -1;
    if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) <= 0) return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return -1;
    *slash = '\0';
    return snprintf(out, cap, "%s/../infra/python_path.py", exe) < (int)cap && access(out, R_OK) == 0 ? 0 : -1;
}

/* The child is gone or broken: say so once, close the pipes, kill it. */
static int give_up(pyserve *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int give_up(pyserve *p, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!p->gone)
        cb_warn("python side (infra/python_path.py --serve): %s; the C run goes on without it (its rows so far "
                "stay)", msg);
    p->gone = 1;
    if (p->to_child >= 0) close(p->to_child);
    if (p->from_child >= 0) close(p->from_child);
    p->to_child = p->from_child = -1;
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = -1;
    }
    return -1;
}

/* The exit of a child that closed its stdout, for the message. */
static void child_exit(pyserve *p, char *buf, size_t cap)
{
    int st;
    snprintf(buf, cap, "closed its output");
    if (p->pid <= 0 || waitpid(p->pid, &st, 0) != p->pid) return;
    p->pid = -1;
    if (WIFEXITED(st)) snprintf(buf, cap, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) snprintf(buf, cap, "killed by signal %d", WTERMSIG(st));
}

/* One line from the child (without its newline) into p->line. 0, or -1
 * (given up: end of output, timeout, I/O error). */
static int read_line(pyserve *p, const char *waiting_for)
{
    double deadline = now_s() + PYSERVE_TIMEOUT_S;
    p->nline = 0;
    for (;;) {
        struct pollfd pf = {p->from_child, POLLIN, 0};
        double left = deadline - now_s();
        if (left <= 0) return give_up(p, "no %s within %d s", waiting_for, PYSERVE_TIMEOUT_S);
        int rc = poll(&pf, 1, (int)(left * 1000) + 1);
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0) return give_up(p, "poll: %s", strerror(errno));
        if (rc == 0) continue;
        char ch;
        ssize_t n = read(p->from_child, &ch, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            char how[64];
            child_exit(p, how, sizeof how);
            return give_up(p, "%s before %s", how, waiting_for);
        }
        if (ch == '\n') {
            p->line[p->nline] = '\0';
            /* Its own one-line reason, said as ours. */
            if (strncmp(p->line, "error ", 6) == 0) return give_up(p, "%s", p->line + 6);
            return 0;
        }
        if (p->nline + 1 < sizeof p->line) p->line[p->nline++] = ch;
    }
}

static int send_line(pyserve *p, const char *text)
{
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(p->to_child, text + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return give_up(p, "cannot write to it: %s", n < 0 ? strerror(errno) : "closed");
        off += (size_t)n;
    }
    return 0;
}

pyserve *pyserve_start(const pyserve_opts *o)
{
    char script[PATH_MAX], self[PATH_MAX], batch[32], proto[16];
    int in[2], out[2];
    ssize_t n;
    pyserve *p = cb_xcalloc(1, sizeof *p);
    p->to_child = p->from_child = -1;
    p->pid = -1;
    if (pyserve_script(script, sizeof script) != 0) {
        give_up(p, "infra/python_path.py not found (run from casbench's tree, or set CASBENCH_PYTHON_PATH_SCRIPT)");
        free(p);
        return NULL;
    }
    if (access(o->python, X_OK) != 0) {
        give_up(p, "%s: cannot run: %s", o->python, strerror(errno));
        free(p);
        return NULL;
    }
    if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) <= 0) {
        give_up(p, "/proc/self/exe: %s", strerror(errno));
        free(p);
        return NULL;
    }
    self[n] = '\0';
    snprintf(batch, sizeof batch, "%.9g", o->batch_s);
    snprintf(proto, sizeof proto, "%d", o->protocol);
    /* argv: python script --serve --out DIR --casbench SELF --min-time B
     * --protocol P --codec C --hash H --payload NAME... */
    size_t argc = 0, cap = 18 + 2 * o->npayloads;
    char **argv = cb_xcalloc(cap, sizeof *argv);
    argv[argc++] = (char *)o->python;
    argv[argc++] = script;
    argv[argc++] = "--serve";
    argv[argc++] = "--out";
    argv[argc++] = (char *)o->out;
    argv[argc++] = "--casbench";
    argv[argc++] = self;
    argv[argc++] = "--min-time";
    argv[argc++] = batch;
    argv[argc++] = "--protocol";
    argv[argc++] = proto;
    argv[argc++] = "--codec";
    argv[argc++] = (char *)o->codecs;
    argv[argc++] = "--hash";
    argv[argc++] = (char *)o->hashes;
    for (size_t i = 0; i < o->npayloads; i++) {
        argv[argc++] = "--payload";
        argv[argc++] = o->payloads[i];
    }
    argv[argc] = NULL;
    /* A child that dies must not take the run with it on the next write. */
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(in, O_CLOEXEC) != 0) {
        free(argv);
        give_up(p, "pipe: %s", strerror(errno));
        free(p);
        return NULL;
    }
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        free(argv);
        give_up(p, "pipe: %s", strerror(errno));
        free(p);
        return NULL;
    }
    fflush(NULL);
    p->pid = fork();
    if (p->pid == 0) {
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0) _exit(127);
        execv(o->python, argv);
        fprintf(stderr, "casbench: %s: cannot run: %s\n", o->python, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    free(argv);
    p->to_child = in[1];
    p->from_child = out[0];
    if (p->pid < 0) {
        give_up(p, "fork: %s", strerror(errno));
        free(p);
        return NULL;
    }
    if (read_line(p, "ready") != 0 || (strncmp(p->line, "ready ", 6) != 0 && give_up(p, "said %s, not ready",
                                                                                      CB_Q(p->line)))) {
        free(p);
        return NULL;
    }
    /* Its cells, one line each: a count no run makes is a broken child, not
     * an allocation to attempt. */
    size_t ncells = strtoul(p->line + 6, NULL, 10);
    if (ncells > PYSERVE_CELLS_MAX) {
        give_up(p, "said %s: more cells than %d", CB_Q(p->line), PYSERVE_CELLS_MAX);
        free(p);
        return NULL;
    }
    p->cells = cb_xcalloc(ncells ? ncells : 1, sizeof *p->cells);
    for (; p->ncells < ncells; p->ncells++) {
        if (read_line(p, "its list of cells") != 0 ||
            (parse_cell(p, p->ncells) != 0 && give_up(p, "said %s, not cell %zu", CB_Q(p->line), p->ncells))) {
            free(p->cells[p->ncells].text);   /* parse_cell's copy of a line it refused */
            free_cells(p);
            free(p);
            return NULL;
        }
    }
    return p;
}

int pyserve_round(pyserve *p, int round, uint64_t seed)
{
    char req[96], want[32];
    if (!p || p->gone) return -1;
    snprintf(req, sizeof req, "round %d %llu\n", round, (unsigned long long)(seed >> 1));
    snprintf(want, sizeof want, "done %d", round);
    if (send_line(p, req) != 0 || read_line(p, "the end of its round") != 0) return -1;
    if (strcmp(p->line, want) != 0) return give_up(p, "said %s, not %s", CB_Q(p->line), want);
    return 0;
}

size_t pyserve_ncells(const pyserve *p) { return p ? p->ncells : 0; }

const pyserve_cell *pyserve_cell_at(const pyserve *p, size_t i) { return &p->cells[i]; }

int pyserve_pairs(pyserve *p, const int *cells, size_t n)
{
    cb_buf req = {0};
    char want[32];
    if (!p || p->gone) return -1;
    cb_buf_printf(&req, "pairs");
    for (size_t i = 0; i < n; i++) cb_buf_printf(&req, " %d", cells[i]);
    cb_buf_printf(&req, "\n");
    if (req.oom) {
        cb_buf_free(&req);
        return give_up(p, "out of memory");
    }
    snprintf(want, sizeof want, "paired %zu", n);
    int rc = send_line(p, req.p);
    cb_buf_free(&req);
    if (rc != 0 || read_line(p, "its answer to pairs") != 0) return -1;
    if (strcmp(p->line, want) != 0) return give_up(p, "said %s, not %s", CB_Q(p->line), want);
    return 0;
}

int pyserve_pair(pyserve *p, int round, int cell)
{
    char req[64], want[64];
    if (!p || p->gone) return -1;
    snprintf(req, sizeof req, "pair %d %d\n", round, cell);
    snprintf(want, sizeof want, "done %d %d", round, cell);
    if (send_line(p, req) != 0 || read_line(p, "the end of a paired cell") != 0) return -1;
    if (strcmp(p->line, want) != 0) return give_up(p, "said %s, not %s", CB_Q(p->line), want);
    return 0;
}

void pyserve_stop(pyserve *p, int rounds_complete)
{
    char req[48];
    if (!p) return;
    /* Unknown (the run failed writing its rows): whatever the child has. */
    if (rounds_complete < 0) snprintf(req, sizeof req, "quit\n");
    else snprintf(req, sizeof req, "quit %d\n", rounds_complete);
    if (!p->gone && send_line(p, req) == 0) {
        close(p->to_child);
        p->to_child = -1;
        /* Its last rewrite, then the end of its output. */
        double deadline = now_s() + PYSERVE_TIMEOUT_S;
        for (;;) {
            struct pollfd pf = {p->from_child, POLLIN, 0};
            char buf[256];
            double left = deadline - now_s();
            if (left <= 0) {
                give_up(p, "did not exit within %d s of quit", PYSERVE_TIMEOUT_S);
                break;
            }
            int rc = poll(&pf, 1, (int)(left * 1000) + 1);
            if (rc < 0 && errno != EINTR) break;
            if (rc > 0 && read(p->from_child, buf, sizeof buf) <= 0) break;
        }
    }
    if (p->to_child >= 0) close(p->to_child);
    if (p->from_child >= 0) close(p->from_child);
    if (p->pid > 0) {
        int st;
        if (waitpid(p->pid, &st, 0) == p->pid && !p->gone && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            cb_warn("python side (infra/python_path.py --serve): exited with %s %d at the end of the run",
                    WIFEXITED(st) ? "status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    }
    free_cells(p);
    free(p);
}
