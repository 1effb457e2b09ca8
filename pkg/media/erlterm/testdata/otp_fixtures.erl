%% Writes otp25.txt: term_to_binary of the payload shapes Kazoo stores (kz_att_s3's
%% encode_retrieval {Map, FilePath} and the older tuples decode_retrieval still reads), and of
%% edge cases, as "name HEX" lines. Regenerate with:
%%   erlc otp_fixtures.erl && erl -noshell -pa . -s otp_fixtures main -s init stop > otp25.txt
-module(otp_fixtures).
-export([main/0]).
hex(B) -> binary:encode_hex(B).
p(Name, T, Opts) ->
    io:format("~s ~s~n", [Name, hex(term_to_binary(T, Opts))]).
main() ->
    M = #{key => <<"AKIAEXAMPLEKEY">>, secret => <<"s3cr3t/Key+Value">>, bucket => <<"recordings">>,
          host => <<"127.0.0.1">>, scheme => <<"http">>, port => 9000, region => <<"us-east-1">>,
          bucket_access_method => <<"path">>, folder_base_path => <<"kazoo">>,
          field_list => [#{<<"arg">> => <<"account_id">>}, #{<<"group">> => [#{<<"arg">> => <<"id">>}, #{<<"const">> => <<"_">>}]}],
          nothing => null, flag => true, ratio => 0.5, big => 123456789012, neg => -5, small => 7,
          nested => #{a => #{b => []}}, tags => ["ab", [1,2,300]], tup => {<<"x">>, 'Élan'}},
    T = {M, <<"kazoo/account%2F12%2F34%2Frest-202601/202601-abc_call.mp3">>},
    p("kazoo43", T, []),
    p("kazoo43_utf8atoms", T, [{minor_version, 2}]),
    p("kazoo43_oldfloat", T, [{minor_version, 0}]),
    p("kazoo43_compressed", T, [compressed]),
    p("legacy4", {<<"AK">>, <<"SK">>, <<"bucket">>, <<"path">>}, []),
    p("legacy5_tuplehost", {<<"AK">>, <<"SK">>, {<<"http">>, <<"minio.local">>, 9000}, <<"bucket">>, undefined}, []),
    p("legacy5_host", {<<"AK">>, <<"SK">>, <<"s3.eu-west-1.amazonaws.com">>, <<"bucket">>, <<"p">>}, []),
    p("bigs", [1 bsl 64, -(1 bsl 70), 16#7fffffffffffffff, -16#8000000000000000, 2147483648, -2147483649], []),
    p("improper", [a | b], []),
    p("pid", self(), []),
    L = lists:seq(1, 40),
    p("largemap", maps:from_list([{I, I} || I <- L]), []),
    p("largetuple", list_to_tuple(L ++ lists:seq(41, 300)), []),
    p("bitbin", <<1:3>>, []),
    ok.
