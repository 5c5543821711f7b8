import CSystemd
print(sd_listen_fds(0))
