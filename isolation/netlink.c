/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loopback up in a new network namespace: one RTM_NEWLINK with IFF_UP for
 * ifindex 1 over rtnetlink.  libmnl builds the message in a stack buffer; the
 * socket is a plain one (mnl_socket_open() allocates, and this runs in the
 * clone3 child, which must not allocate).  And network namespaces made ahead of
 * a spawn (iso_netns_new()), with their lo up the same way.
 */
#include "isolation/isolation-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int iso_loopback_up(void)
{
        char buf[256] __attribute__((aligned(8)));
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct ifinfomsg *ifi;
        ssize_t n;
        int fd, r = 0;

        nlh->nlmsg_type = RTM_NEWLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = 1;
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = 1; /* lo is always ifindex 1 in a new network namespace */
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        if (sendto(fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                r = -errno;
                goto out;
        }
        n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0) {
                r = -errno;
                goto out;
        }
        nlh = (struct nlmsghdr *)buf;
        if (!mnl_nlmsg_ok(nlh, (int)n))
                r = -EBADMSG;
        else if (nlh->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
                r = e->error; /* 0: the ACK */
        }
out:
        close(fd);
        return r;
}

int iso_netns_new(struct sbx_error *err)
{
        _cleanup_close_ int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        int fd, r = 0;

        if (own < 0)
                return sbx_fail_errno(err, -errno, "opening /proc/thread-self/ns/net");
        /* Network namespaces are per thread: only this thread moves, and comes back. */
        if (unshare(CLONE_NEWNET) < 0)
                return sbx_fail_errno(err, -errno, "creating a network namespace");
        fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                r = sbx_fail_errno(err, -errno, "opening the new network namespace");
        else if ((r = iso_loopback_up()) < 0)
                sbx_fail_errno(err, r, "bringing up lo in the new network namespace");
        if (setns(own, CLONE_NEWNET) < 0)
                abort(); /* cannot happen: we held our own namespace open */
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        return fd;
}
