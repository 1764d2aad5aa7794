/*
 * delay-relay: a TCP relay on loopback that holds every chunk for a while
 * in each direction, to put a directory "far away" (or make it slow) on a
 * kernel without netem.  Used by the fault tests and by bench/lookupd.py.
 *
 *   delay-relay LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_US
 *
 * Two threads per connection, one per direction: read a chunk, wait until
 * DELAY_US after it was read, write it on.  For request/response traffic
 * (LDAP lookups) each round trip thus costs 2 x DELAY_US more; a bulk
 * transfer moves at most 64 KiB per DELAY_US.  SIGUSR1 turns the delay
 * off from the next chunk on, SIGUSR2 turns it back on (a directory that
 * becomes slow, or fast again, under connections already open).  Prints
 * "listening" on stdout once it accepts connections; SIGTERM ends it, and
 * with it every relayed connection.
 *
 * Limits: IPv4 loopback only; one connection to the target per client;
 * a target that cannot be reached closes the client at once.  Test tool.
 */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long delay_ns;
static atomic_int no_delay;	/* SIGUSR1 sets, SIGUSR2 clears */
static const char *thost, *tport;

struct pipe_arg {
	int from, to;
};

static void
on_usr(int sig)
{
	atomic_store(&no_delay, sig == SIGUSR1);
}

static void
add_ns(struct timespec *t, long ns)
{
	t->tv_nsec += ns;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

static void *
pump(void *arg)
{
	struct pipe_arg *p = arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(p->from, buf, sizeof(buf))) > 0) {
		struct timespec t;
		ssize_t off = 0;

		clock_gettime(CLOCK_MONOTONIC, &t);
		add_ns(&t, delay_ns);
		while (!atomic_load(&no_delay) && clock_nanosleep(
		    CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) != 0)
			;
		while (off < n) {
			ssize_t w = write(p->to, buf + off, (size_t)(n - off));

			if (w <= 0)
				goto out;
			off += w;
		}
	}
out:
	shutdown(p->to, SHUT_WR);
	shutdown(p->from, SHUT_RD);
	return NULL;
}

static int
dial(void)
{
	struct addrinfo hints, *res;
	int fd, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(thost, tport, &hints, &res) != 0)
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void *
conn(void *arg)
{
	int c = (int)(long)arg, t = dial();
	struct pipe_arg up, down;
	pthread_t a, b;

	if (t < 0) {
		close(c);
		return NULL;
	}
	up.from = c;
	up.to = t;
	down.from = t;
	down.to = c;
	if (pthread_create(&a, NULL, pump, &up) != 0) {
		close(c);
		close(t);
		return NULL;
	}
	if (pthread_create(&b, NULL, pump, &down) != 0)
		pump(&down);
	else
		pthread_join(b, NULL);
	pthread_join(a, NULL);
	close(c);
	close(t);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct sigaction sa;
	int s, one = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: delay-relay LISTEN_PORT HOST PORT "
		    "DELAY_US\n");
		return 2;
	}
	thost = argv[2];
	tport = argv[3];
	delay_ns = atol(argv[4]) * 1000L;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr;
	sa.sa_flags = SA_RESTART;	/* a signal must not cut a read */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(s, 128) != 0) {
		perror("delay-relay: bind");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		pthread_t th;

		if (c < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&th, NULL, conn, (void *)(long)c) != 0)
			close(c);
		else
			pthread_detach(th);
	}
}
