# `cpack -G DEB` in the build directory makes lpcfs_VERSION_ARCH.deb of what
# `cmake --install` installs, below /usr. Included from the top-level
# CMakeLists.txt, since CPack writes its configuration there.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lpcfs)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "lpcfs maintainers <maintainers@users.noreply.r-seed-a6e89c91.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Windows-style local procedure call ports as files (FUSE)")
set(CPACK_PACKAGE_DESCRIPTION
    "lpcfs offers ALPC-style ports as files at /lpc: a server creates a port,
each client open() is a connection request the server accepts or rejects,
and messages are write()s and read()s carrying the sender's credentials.
Access is the file's mode and POSIX ACLs, checked by the kernel.
.
This package holds the lpcfs daemon, the lpc command and its bash
completion, lpc.h with its pkg-config file, the man pages and
lpcfs.service.")

# The .pc file and the unit are written at install time with the prefix
# of that install (dist/CMakeLists.txt): install into a staging DESTDIR
# with the prefix /usr, not into a staging prefix.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# fuse3: fusermount3 mounts for the daemon (lpcfs.8 PRIVILEGES) and
# mount.fuse3 for mount(8). The libraries (libfuse3-3, libcap2, libc6,
# libstdc++6) come from dpkg-shlibdeps (dpkg-dev) where it is installed.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "fuse3")
find_program(LPC_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(LPC_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "fuse3, libfuse3-3 (>= 3.14), libcap2, libc6, libstdc++6, libgcc-s1")
endif()
# Tell a running systemd about the unit, and stop and disable it on removal.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/debian/postinst
    ${CMAKE_CURRENT_LIST_DIR}/debian/prerm
    ${CMAKE_CURRENT_LIST_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# Debian policy 12.5: every package carries its copyright file, in the
# machine-readable format (DEP-5). `cmake --install` installs it too, below
# share/doc/lpcfs.
configure_file(${CMAKE_CURRENT_LIST_DIR}/debian/copyright.in
               ${CMAKE_BINARY_DIR}/dist/copyright @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/dist/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

include(CPack)
