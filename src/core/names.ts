/**
 * The stream-name rule, one for every protocol: an app or stream key (and every path parameter
 * of the HTTP side) is letters, digits, `_`, `-`, `.` (not leading), at most 128 characters.
 * RTMP publish/play names and HTTP paths are checked against it before use, so nothing is ever
 * read from disk by request and a name means the same thing on every side.
 */
export const NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;
