"""MEM003 names the first call that can really fail: a small spelled-out write into the buffer
of a file just opened is not it (memlint/analysis/fresh_writes.py). Shapes from check-7
(buildbot-worker, esptool)."""

from __future__ import annotations

import textwrap

import memlint


def _mem003_messages(source: str):
    return [f.message for f in memlint.check_source(textwrap.dedent(source), "case.py") if f.code == "MEM003"]


def test_the_callers_text_is_named_not_the_literal_header():
    messages = _mem003_messages(
        """
        from tempfile import NamedTemporaryFile

        def spawn_as_batch(command, encoding):
            tf = NamedTemporaryFile(mode="w+", suffix=".bat", delete=False, encoding=encoding)
            tf.write("@echo off\\n")
            if isinstance(command, str):
                tf.write(command)
            else:
                tf.write(" ".join(command))
            tf.close()

            def unlink_temp(result):
                return tf.name

            return unlink_temp
        """
    )
    assert messages and all("(line 8)" in message for message in messages), messages


def test_the_signature_is_named_not_the_version_word():
    messages = _mem003_messages(
        """
        import struct

        def sign(datafile, output, content, signature):
            if output is None:
                outfile = open(datafile, "ab")
            else:
                outfile = open(output, "wb")
                outfile.write(content)
            outfile.write(struct.pack("I", 0))
            outfile.write(signature)
            outfile.close()
        """
    )
    # The append-mode file (line 6) fails first at the signature (line 11); the new file
    # (line 8) at its content (line 9).
    assert sorted(messages) == sorted(
        [
            "`outfile` (a file from `open()`) is not closed when `outfile.write()` raises (line 11)",
            "`outfile` (a file from `open()`) is not closed when `outfile.write()` raises (line 9)",
        ]
    ), messages


def test_a_large_literal_write_stays_a_call_that_can_fail():
    big = "x" * 600
    messages = _mem003_messages(
        f"""
        def write_banner(path):
            out = open(path, "wb")
            out.write(b"{big}")
            out.close()
        """
    )
    assert len(messages) == 1 and "(line 4)" in messages[0], messages
