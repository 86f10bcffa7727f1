import CGuestfs
