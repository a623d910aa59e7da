# fish completion for cio-sec. Install: cio-sec completion install fish
# One request per TAB, answered by cio-sec without loading its full command line.

function __cio_sec_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l response (env _CIO_SEC_COMPLETE=fish $words 2>/dev/null)
    if test "$response[1]" = files
        __fish_complete_path (commandline -ct)
    else if test (count $response) -gt 1
        printf '%s\n' $response[2..-1]
    end
end

complete --command cio-sec --no-files --arguments '(__cio_sec_complete)'
