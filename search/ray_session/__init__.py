"""The Ray a run uses: start and stop a private local Ray (`start`), clean up after a killed driver
(`reaper`), probe an address (`tcp_probe`), refuse a results folder not every node sees (`shared_folder`)."""
