// SPDX-License-Identifier: GPL-2.0
/*
 * lsck_probe: the in-VM test helper, built static.
 *
 *   lsck_probe connect SRC        TCP connect from SRC to loopback: prints open|blocked
 *   lsck_probe netns SRC          the same inside a fresh network namespace
 *   lsck_probe write TEXT         one write() of TEXT ("\n" escapes) to /dev/lsck:
 *                                 prints ok or the errno name
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return -1;
	close(fd);
	return 0;
}

static int probe(const char *src)
{
	struct sockaddr_storage srv = { 0 }, cli = { 0 };
	socklen_t len;
	int family = strchr(src, ':') ? AF_INET6 : AF_INET;
	int server, client, flags, err = 0;
	struct pollfd pfd;

	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&srv;
		struct sockaddr_in *c = (struct sockaddr_in *)&cli;

		s->sin_family = AF_INET;
		c->sin_family = AF_INET;
		inet_pton(AF_INET, "127.0.0.1", &s->sin_addr);
		if (inet_pton(AF_INET, src, &c->sin_addr) != 1)
			return 2;
		len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&srv;
		struct sockaddr_in6 *c = (struct sockaddr_in6 *)&cli;

		s->sin6_family = AF_INET6;
		c->sin6_family = AF_INET6;
		inet_pton(AF_INET6, "::1", &s->sin6_addr);
		if (inet_pton(AF_INET6, src, &c->sin6_addr) != 1)
			return 2;
		len = sizeof(*s);
	}
	server = socket(family, SOCK_STREAM, 0);
	if (server < 0 || bind(server, (struct sockaddr *)&srv, len) || listen(server, 4) ||
	    getsockname(server, (struct sockaddr *)&srv, &len)) {
		perror("server");
		return 2;
	}
	client = socket(family, SOCK_STREAM, 0);
	if (client < 0 || bind(client, (struct sockaddr *)&cli, len)) {
		perror("bind source");
		return 2;
	}
	flags = fcntl(client, F_GETFL);
	fcntl(client, F_SETFL, flags | O_NONBLOCK);
	if (connect(client, (struct sockaddr *)&srv, len) && errno != EINPROGRESS) {
		printf("blocked\n");
		return 1;
	}
	pfd.fd = client;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 1500) == 1) {
		len = sizeof(err);
		getsockopt(client, SOL_SOCKET, SO_ERROR, &err, &len);
		if (!err) {
			printf("open\n");
			return 0;
		}
	}
	printf("blocked\n");
	return 1;
}

static int write_dev(const char *arg)
{
	char buf[8192];
	size_t n = 0;
	int fd;

	for (; *arg && n < sizeof(buf) - 1; arg++) {
		if (arg[0] == '\\' && arg[1] == 'n') {
			buf[n++] = '\n';
			arg++;
		} else {
			buf[n++] = *arg;
		}
	}
	fd = open("/dev/lsck", O_WRONLY);
	if (fd < 0) {
		printf("%s\n", strerrorname_np(errno));
		return 1;
	}
	if (write(fd, buf, n) != (ssize_t)n) {
		printf("%s\n", strerrorname_np(errno));
		close(fd);
		return 1;
	}
	close(fd);
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "connect"))
		return probe(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "netns")) {
		if (unshare(CLONE_NEWNET) || lo_up()) {
			perror("netns");
			return 2;
		}
		return probe(argv[2]);
	}
	if (argc == 3 && !strcmp(argv[1], "write"))
		return write_dev(argv[2]);
	fprintf(stderr, "usage: lsck_probe connect|netns SRC | write TEXT\n");
	return 2;
}
