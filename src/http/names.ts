/**
 * Every path parameter is checked against this before use: letters, digits, `_`, `-`, `.`
 * (not leading), at most 128 characters. Nothing is ever read from disk by request.
 */
export const NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;
