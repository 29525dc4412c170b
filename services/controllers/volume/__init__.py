"""The PersistentVolume controller: binder, local provisioner, reclaim, expansion and the
PVC/PV protection controllers (see README.md)."""
