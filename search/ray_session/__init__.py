"""The Ray a run uses: check --address and join a cluster or start a private Ray (`connect`, `start`),
clean up after a killed driver (`reaper`), probe an address (`tcp_probe`), refuse a results folder
that not every node sees (`shared_folder`)."""
