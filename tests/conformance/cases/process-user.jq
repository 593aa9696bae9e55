# A non-root user with a primary group and additional groups.
.process.user = {uid: 1000, gid: 1000, additionalGids: [10, 20, 65534]}
