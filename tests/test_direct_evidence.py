"""MEM003 names a call with direct evidence that it can raise (issues 13 and 20): when the path
from the acquisition holds both a call only taken to raise for want of knowing better (a method
of some other object, a helper whose body is read) and one with direct evidence (the resource's
own method, an I/O function of the standard library, a callable bound from data), the message
names the second, the likelier cause of the leak (scons `bdsw.write()`, not `dswfile.get_abspath()`)."""
from __future__ import annotations

import textwrap

import memlint

SOURCE = textwrap.dedent(
    '''
    import os


    def write_solution(node, path, text):
        out = open(path, "w")
        target = node.get_abspath()
        out.write(text + target)
        out.close()


    def copy_tree(client, source, remote):
        sftp = client.open_sftp()
        for root, dirs, files in os.walk(source.as_posix()):
            for name in dirs:
                sftp.mkdir(remote + "/" + name)
        sftp.close()


    def extract(handlers, archive_path):
        import tempfile
        for test, handler_class in handlers:
            if test(archive_path):
                break
        target = tempfile.mkdtemp()
        archive = handler_class(os.fsdecode(archive_path))
        archive.extractall(target)
        os.rmdir(target)


    def only_indirect(node, path):
        out = open(path, "w")
        target = node.get_abspath()
        out.close()
        return target
    '''
)


def _messages():
    return [finding.message for finding in memlint.check_source(SOURCE, "x.py", {"confidence": "low"}) if finding.code == "MEM003"]


def test_message_names_the_resource_method_over_another_objects_method():
    messages = _messages()
    assert any("`out.write()` raises" in message for message in messages), messages
    assert not any("get_abspath()` raises (line 7)" in message for message in messages), messages


def test_quiet_stdlib_calls_are_not_named():
    messages = _messages()
    assert any("`sftp.mkdir()` raises" in message for message in messages), messages
    assert not any("os.walk()" in message or "as_posix()" in message for message in messages), messages


def test_callable_bound_from_data_is_named_before_a_later_call():
    messages = _messages()
    assert any("`handler_class()` raises" in message for message in messages), messages
    assert not any("os.fsdecode()" in message for message in messages), messages


def test_indirect_evidence_still_reports_when_nothing_else_raises():
    messages = _messages()
    assert any("`node.get_abspath()` raises (line 33)" in message for message in messages), messages
