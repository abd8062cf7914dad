/* httpload: a tiny HTTP/1.1 keep-alive load generator for the wharf benchmarks.
 *
 * Why not wrk: wrk 4.1 never tells its HTTP parser that a response answers a HEAD, so it
 * waits for Content-Length body bytes that never come and counts 0 requests. This tool
 * knows HEAD responses have no body. And wrk cannot pace its requests (wrk2 can, but it is
 * not packaged). run.py and gc.py compile it with `cc -O2 -pthread`.
 *
 *   httpload [-r RATE] [-o FILE] METHOD HOST PORT PATH CONNECTIONS THREADS SECONDS [HEADER ...]
 *
 * Each connection keeps at most one request in flight (like wrk).
 *
 * Without -r it is closed-loop: a connection sends its next request as soon as the answer
 * to the previous one arrived, and latency counts from the send.
 *
 * With -r RATE it is open-loop (like wrk2): RATE requests per second in all, each
 * connection on its own fixed schedule (staggered, so they do not fire together). Latency
 * counts from the time a request was due, not from when it could be sent: when the server
 * stalls, every request the stall held back counts the wait (no "coordinated omission").
 *
 * SECONDS 0 runs until SIGINT or SIGTERM. -o FILE writes one line per request, in the
 * order they completed: "DUE_NS SENT_NS DONE_NS STATUS", CLOCK_MONOTONIC nanoseconds (the
 * clock of Python's time.monotonic_ns()), STATUS 0 for a socket error. SENT - DUE is how
 * late the client itself was, so a reader can tell a slow server from a starved client.
 *
 * Prints key=value lines for the whole run: requests, seconds, rps, p50_ms, p90_ms,
 * p99_ms, max_ms, non2xx, errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define BUF 16384
/* latency histogram: 1 us buckets below 10 ms, then 100 us buckets up to 10 s */
#define FINE 10000
#define NBUCKETS (FINE + 100000)

typedef struct {
    int fd;
    int busy;          /* a request is in flight */
    uint64_t due;      /* when the next request is due (paced), or 0: now */
    uint64_t start;    /* latency counts from here: the due time (paced) or the send */
    uint64_t sent;
    size_t have;
    long body_left; /* -1: still reading the head */
    int status;
    char buf[BUF];
} conn_t;

typedef struct {
    uint64_t due, sent, done;
    int status;
} sample_t;

typedef struct {
    pthread_t tid;
    int first, nconns; /* this worker's connections: global numbers first .. first+nconns-1 */
    uint64_t requests, non2xx, errors;
    uint64_t *hist;
    uint64_t max_us;
    sample_t *samples; /* only with -o */
    size_t nsamples, cap;
} worker_t;

static char g_req[8192];
static size_t g_reqlen;
static int g_head, g_total_conns;
static uint64_t g_t0, g_end_ns, g_interval_ns; /* g_interval_ns: per connection, 0 = closed loop */
static int g_keep_samples;
static struct sockaddr_in g_addr;
static volatile sig_atomic_t g_stop;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static int bucket(uint64_t us) {
    if (us < FINE) return (int)us;
    uint64_t b = FINE + (us - FINE) / 100;
    return b >= NBUCKETS ? NBUCKETS - 1 : (int)b;
}

static uint64_t bucket_us(int b) { return b < FINE ? (uint64_t)b : FINE + (uint64_t)(b - FINE) * 100; }

static int open_conn(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&g_addr, sizeof g_addr) < 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

/* Records one finished (status > 0) or failed (status 0) request. */
static void record(worker_t *w, conn_t *c, int status) {
    uint64_t done = now_ns();
    if (status == 0) {
        w->errors++;
    } else {
        uint64_t us = (done - c->start) / 1000;
        w->requests++;
        w->hist[bucket(us)]++;
        if (us > w->max_us) w->max_us = us;
        if (status < 200 || status > 399) w->non2xx++;
    }
    if (g_keep_samples) {
        if (w->nsamples == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 65536;
            w->samples = realloc(w->samples, w->cap * sizeof(sample_t));
            if (!w->samples) abort();
        }
        w->samples[w->nsamples++] = (sample_t){c->start, c->sent, done, status};
    }
    c->busy = 0;
    if (g_interval_ns) c->due += g_interval_ns;
}

/* Drops a broken connection; the next request opens a new one. */
static void drop(int ep, conn_t *c) {
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
}

/* Sends the connection's next request, connecting first if needed (after an error):
 * 0, -1 when the send failed, -2 when the connect failed. */
static int issue(int ep, conn_t *c, uint64_t now) {
    c->start = g_interval_ns ? c->due : now;
    c->sent = now;
    c->have = 0;
    c->body_left = -1;
    if (c->fd < 0) {
        if ((c->fd = open_conn()) < 0) return -2;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    size_t off = 0;
    while (off < g_reqlen) {
        ssize_t n = send(c->fd, g_req + off, g_reqlen - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        off += (size_t)n;
    }
    c->busy = 1;
    return 0;
}

/* Returns 1 when a whole response was consumed (c->status set), 0 when more bytes are
 * needed, -1 on error. In the body phase buf holds only the latest bytes read. */
static int parse(conn_t *c) {
    if (c->body_left < 0) {
        char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
        if (!end) return c->have >= BUF ? -1 : 0;
        size_t headlen = (size_t)(end - c->buf) + 4;
        if (c->have < 12 || strncmp(c->buf, "HTTP/1.", 7) != 0) return -1;
        c->status = atoi(c->buf + 9);
        long cl = 0;
        c->buf[headlen - 1] = 0;
        for (char *p = c->buf; (p = strchr(p, '\n')) != NULL;) {
            p++;
            if (strncasecmp(p, "content-length:", 15) == 0) cl = atol(p + 15);
            if (strncasecmp(p, "transfer-encoding:", 18) == 0) return -1; /* not supported */
        }
        if (g_head || c->status == 204 || c->status == 304) cl = 0;
        c->body_left = cl - (long)(c->have - headlen);
    } else {
        c->body_left -= (long)c->have;
    }
    c->have = 0;
    if (c->body_left < 0) return -1; /* more than one response: not expected */
    return c->body_left == 0 ? 1 : 0;
}

/* Reads what arrived on a busy connection; 1 when its response is complete, 0 when not
 * yet, -1 on error. */
static int receive(conn_t *c) {
    char *dst = c->body_left < 0 ? c->buf + c->have : c->buf;
    size_t room = c->body_left < 0 ? BUF - c->have : BUF;
    ssize_t r = recv(c->fd, dst, room, 0);
    if (r <= 0) return r < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    c->have = c->body_left < 0 ? c->have + (size_t)r : (size_t)r;
    return parse(c);
}

static void *run(void *arg) {
    worker_t *w = arg;
    /* Wake on time (the default timer slack is 50 us; the schedule wants better). */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    int ep = epoll_create1(0);
    int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, timer, &tev);
    conn_t *conns = calloc((size_t)w->nconns, sizeof(conn_t));
    for (int i = 0; i < w->nconns; i++) {
        conns[i].fd = open_conn();
        if (conns[i].fd < 0) {
            w->errors++;
            continue;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
        /* staggered over one interval by the connection's global number */
        conns[i].due = g_interval_ns ? g_t0 + g_interval_ns * (uint64_t)(w->first + i) / (uint64_t)g_total_conns : 0;
    }
    struct epoll_event evs[256];
    while (!g_stop) {
        uint64_t now = now_ns();
        if (now >= g_end_ns) break;
        /* send whatever is due; find when the next idle connection will be */
        uint64_t next = g_end_ns;
        for (int i = 0; i < w->nconns; i++) {
            conn_t *c = &conns[i];
            if (c->busy) continue;
            if (c->due > now) {
                if (c->due < next) next = c->due;
                continue;
            }
            int r = issue(ep, c, now);
            if (r < 0) {
                record(w, c, 0); /* paced: the next try is at the next due time */
                drop(ep, c);
                if (r == -2 && !g_interval_ns) c->due = UINT64_MAX; /* closed loop: give up on it */
            }
        }
        if (g_interval_ns) { /* paced: wake when the next idle connection is due */
            struct itimerspec its = {.it_value = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)}};
            timerfd_settime(timer, TFD_TIMER_ABSTIME, &its, NULL);
        }
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c == NULL) { /* the timer: just wake up */
                uint64_t ticks;
                if (read(timer, &ticks, sizeof ticks) < 0) { /* nothing to do */ }
                continue;
            }
            if (!c->busy) { /* the server closed an idle connection */
                drop(ep, c);
                continue;
            }
            int done = receive(c);
            if (done == 0) continue;
            if (done < 0) {
                record(w, c, 0);
                drop(ep, c);
            } else {
                record(w, c, c->status);
            }
        }
    }
    for (int i = 0; i < w->nconns; i++)
        if (conns[i].fd >= 0) close(conns[i].fd);
    free(conns);
    close(timer);
    close(ep);
    return NULL;
}

static void usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s [-r RATE] [-o FILE] METHOD HOST PORT PATH CONNECTIONS THREADS SECONDS [HEADER ...]\n",
            argv0);
    exit(2);
}

int main(int argc, char **argv) {
    double rate = 0;
    const char *out_path = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "+r:o:")) != -1) {
        if (opt == 'r') rate = atof(optarg);
        else if (opt == 'o') out_path = optarg;
        else usage(argv[0]);
    }
    char **pos = argv + optind; /* METHOD HOST PORT PATH CONNECTIONS THREADS SECONDS [HEADER ...] */
    int npos = argc - optind;
    if (npos < 7) usage(argv[0]);
    const char *method = pos[0], *host = pos[1], *path = pos[3];
    int port = atoi(pos[2]);
    int nconns = atoi(pos[4]), nthreads = atoi(pos[5]);
    double secs = atof(pos[6]);
    if (nconns < 1) usage(argv[0]);
    g_head = strcasecmp(method, "HEAD") == 0;
    g_keep_samples = out_path != NULL;
    int len = snprintf(g_req, sizeof g_req, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n", method, path, host, port);
    for (int i = 7; i < npos; i++)
        len += snprintf(g_req + len, sizeof g_req - (size_t)len, "%s\r\n", pos[i]);
    len += snprintf(g_req + len, sizeof g_req - (size_t)len, "\r\n");
    g_reqlen = (size_t)len;
    g_addr.sin_family = AF_INET;
    g_addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &g_addr.sin_addr) != 1) {
        fprintf(stderr, "HOST must be an IPv4 address\n");
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (nthreads < 1) nthreads = 1;
    if (nthreads > nconns) nthreads = nconns;
    g_total_conns = nconns;
    g_interval_ns = rate > 0 ? (uint64_t)((double)nconns / rate * 1e9) : 0;
    worker_t *ws = calloc((size_t)nthreads, sizeof(worker_t));
    g_t0 = now_ns();
    g_end_ns = secs > 0 ? g_t0 + (uint64_t)(secs * 1e9) : UINT64_MAX;
    for (int i = 0, first = 0; i < nthreads; i++) {
        ws[i].first = first;
        ws[i].nconns = nconns / nthreads + (i < nconns % nthreads);
        first += ws[i].nconns;
        ws[i].hist = calloc(NBUCKETS, sizeof(uint64_t));
        pthread_create(&ws[i].tid, NULL, run, &ws[i]);
    }
    uint64_t req = 0, non2xx = 0, errors = 0, max_us = 0;
    uint64_t *hist = calloc(NBUCKETS, sizeof(uint64_t));
    for (int i = 0; i < nthreads; i++) {
        pthread_join(ws[i].tid, NULL);
        req += ws[i].requests;
        non2xx += ws[i].non2xx;
        errors += ws[i].errors;
        if (ws[i].max_us > max_us) max_us = ws[i].max_us;
        for (int b = 0; b < NBUCKETS; b++) hist[b] += ws[i].hist[b];
    }
    double elapsed = (double)(now_ns() - g_t0) / 1e9;
    if (out_path) {
        FILE *f = fopen(out_path, "w");
        if (!f) {
            perror(out_path);
            return 1;
        }
        for (int i = 0; i < nthreads; i++)
            for (size_t k = 0; k < ws[i].nsamples; k++) {
                sample_t *s = &ws[i].samples[k];
                fprintf(f, "%llu %llu %llu %d\n", (unsigned long long)s->due, (unsigned long long)s->sent,
                        (unsigned long long)s->done, s->status);
            }
        if (fclose(f) != 0) {
            perror(out_path);
            return 1;
        }
    }
    double pct[3] = {0.50, 0.90, 0.99}, val[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        uint64_t want = (uint64_t)(pct[k] * (double)req + 0.5), acc = 0;
        for (int b = 0; b < NBUCKETS; b++) {
            acc += hist[b];
            if (acc >= want && want > 0) {
                val[k] = (double)bucket_us(b) / 1000.0;
                break;
            }
        }
    }
    printf("requests=%llu\nseconds=%.3f\nrps=%.1f\np50_ms=%.3f\np90_ms=%.3f\np99_ms=%.3f\n"
           "max_ms=%.3f\nnon2xx=%llu\nerrors=%llu\n",
           (unsigned long long)req, elapsed, (double)req / elapsed, val[0], val[1], val[2],
           (double)max_us / 1000.0, (unsigned long long)non2xx, (unsigned long long)errors);
    return 0;
}
