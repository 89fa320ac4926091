;; SPDX-License-Identifier: Apache-2.0
;; Test guest: a start function that never returns. Uploading it must be
;; rejected at the call timeout, not pin the uploading thread.
(module
  (func $spin (loop $l (br $l)))
  (func (export "_start"))
  (start $spin))
