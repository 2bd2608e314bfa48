/* SPDX-License-Identifier: MIT */
/*
 * The conformance tier: uAPI behaviour through real open()/ioctl() calls,
 * with libiommusim-preload.so serving /dev/iommu and /dev/vfio/vfio.
 *
 * Every test executable re-executes itself once with LD_PRELOAD naming the
 * shim (and, in a gcc ASan build, the ASan runtime first, which ASan
 * requires of anything preloaded): see shim_support.c. Criterion runs each
 * test in its own process, so every test starts with a fresh simulator and
 * may set IOMMUSIM_CONFIG before its first open.
 */
#ifndef IOMMUSIM_TESTS_CONFORMANCE_H
#define IOMMUSIM_TESTS_CONFORMANCE_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <iommusim/iommufd.h>
#include <iommusim/iommufd_test.h>
#include <iommusim/vfio.h>

#define PAGE 4096UL

/* The LD_PRELOAD value the tests run with (for starting other programs). */
const char *conf_preload_env(void);

/* open(path, O_RDWR), asserting the fd is served by the simulator. */
int conf_open(const char *path);
uint32_t conf_ioas_alloc(int fd);
/* A mock device on @pt_id; any out pointer may be NULL. */
void conf_mock_domain(int fd, uint32_t pt_id, uint32_t *stdev, uint32_t *hwpt, uint32_t *idev);
/* Anonymous, page-aligned memory; munmap with conf_free. */
void *conf_alloc(size_t len);
void conf_free(void *p, size_t len);
/* IOAS_MAP: 0 or errno. */
int conf_map(int fd, uint32_t ioas, void *va, uint64_t len, uint64_t *iova, uint32_t flags);
int conf_unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t len, uint64_t *unmapped);
/* MD_CHECK_REFS: 0 or errno. */
int conf_check_refs(int fd, void *va, uint64_t len, uint32_t refs);
/* CREATE_ACCESS: the access fd. */
int conf_create_access(int fd, uint32_t ioas, uint32_t flags);
int conf_access_rw(int fd, int access, uint64_t iova, void *data, uint64_t len, uint32_t flags);
/* ioctl returning errno (0 on success). */
int conf_ioctl(int fd, unsigned long cmd, void *arg);

/* Run @prog (absolute path) under the shim; capture stdout+stderr; exit status. */
int conf_run(const char *prog, char *out, size_t outlen, const char *config);

#define MAP_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define MAP_FIXED_RW (MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA)

#endif
