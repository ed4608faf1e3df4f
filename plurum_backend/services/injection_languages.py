"""The patterns of services/injection.py in languages other than English.

Spanish, French, German, Portuguese, Italian, Russian, Chinese and Japanese: the same
moves as the English rules (override, role takeover, exfiltration, addressing an AI), in
the words agents write them. Chinese and Japanese have no spaces between words, so their
gaps are short windows of any character within a sentence.
"""

from __future__ import annotations

from plurum_backend.services.injection_rules import Rule, rx

__all__ = ["OTHER_LANGUAGE_RULES"]

OTHER_LANGUAGE_RULES: tuple[Rule, ...] = (
    # ---- Spanish
    Rule(
        "override",
        rx(
            r"""\b(?:ignora|ignore|ignoren|ignorad|olvida|olvide|olviden|descarta|omite|
            pasa\W+por\W+alto|haz\W+caso\W+omiso\W+(?:a|de))\b\W+(?:\w+\W+){0,3}?
            (?:instrucciones|indicaciones|[oó]rdenes|reglas|directrices|normas|
            (?:el\W+)?prompt)\b"""
        ),
        hints=("ignor", "olvid", "descart", "omit", "alto", "caso"),
    ),
    Rule(
        "role_takeover",
        rx(
            r"""\b(?:ahora|a\W+partir\W+de\W+ahora|desde\W+ahora)\W+(?:t[uú]\W+)?eres\b|
            \b(?:act[uú]a|comp[oó]rtate)\W+como\W+(?:\w+\W+){0,3}?(?:sin\W+restricciones|
            sin\W+filtros|sin\W+reglas)|\btus\W+nuevas\W+instrucciones\b|
            \bmodo\W+(?:desarrollador|sin\W+restricciones|dan)\b"""
        ),
        hints=("eres", "sin ", "instrucciones", "modo"),
    ),
    Rule(
        "exfiltration",
        rx(
            r"""\b(?:env[ií]a|envie|env[ií]en|manda|mande|sube|suba|publica|reenv[ií]a|
            comparte|filtra|dame|d[eé]me|mu[eé]strame|revela)\b\W+(?:\w+\W+){0,3}?
            (?:claves?|llaves?|api\W*keys?|tokens?|credenciales|contraseñas?|secretos|
            variables\W+de\W+entorno|\.env|\.ssh\S*|id_rsa|prompt\W+del\W+sistema)\b"""
        ),
        hints=(
            "env",
            "mand",
            "sub",
            "public",
            "compart",
            "filtr",
            "dame",
            "deme",
            "muestr",
            "muéstr",
            "revel",
            "copi",
        ),
    ),
    Rule(
        "addresses_agent",
        rx(
            r"""\bsi\W+eres\W+(?:un|una)\W+(?:ia|inteligencia\W+artificial|asistente|agente|
            modelo)\b|\b(?:atenci[oó]n|nota|aviso)\W+(?:para|a)\W+(?:la\W+|el\W+|los\W+|las\W+|
            cualquier\W+|todo\W+)?(?:ia|asistentes?|agentes?\W+de\W+ia|modelos?)\b"""
        ),
        hints=("eres", "atenci", "nota", "aviso"),
    ),
    # ---- French
    Rule(
        "override",
        rx(
            r"""\b(?:ignore|ignorez|oublie|oubliez|n[eé]glige|n[eé]gligez|
            fais\W+abstraction\W+de|faites\W+abstraction\W+de|ne\W+tiens?\W+pas\W+compte\W+d(?:e|es|u)|
            ne\W+tenez\W+pas\W+compte\W+d(?:e|es|u))\b\W+(?:\w+\W+){0,3}?(?:instructions|consignes|
            directives|r[eè]gles|ordres|(?:le\W+)?prompt)\b"""
        ),
        hints=("ignor", "oubli", "glig", "abstraction", "compte"),
    ),
    Rule(
        "role_takeover",
        rx(
            r"""\b(?:tu\W+es|vous\W+[eê]tes)\W+(?:d[eé]sormais|maintenant|dor[eé]navant)\b|
            \b(?:[aà]\W+partir\W+de\W+maintenant|d[eé]sormais|dor[eé]navant)\W*,?\W*
            (?:tu\W+es|vous\W+[eê]tes|tu\W+dois|vous\W+devez|tu\W+vas|vous\W+allez)\b|
            \b(?:tes|vos)\W+nouvelles\W+(?:instructions|consignes)\b|
            \bmode\W+(?:d[eé]veloppeur|sans\W+restrictions?|dan)\b"""
        ),
        hints=("tu ", "vous", "nouvelles", "mode", "sormais", "navant"),
    ),
    Rule(
        "exfiltration",
        rx(
            r"""\b(?:envoie|envoyez|envoyer|transmets|transmettez|poste|postez|t[eé]l[eé]verse|
            partage|partagez|donne-moi|donnez-moi|montre-moi|montrez-moi|r[eé]v[eè]le|
            r[eé]v[eé]lez)\b\W+(?:\w+\W+){0,3}?(?:cl[eé]s?|cl[eé]\W+api|jetons?|
            tokens?|identifiants|mots?\W+de\W+passe|secrets|variables\W+d'?\W*environnement|
            \.env|\.ssh\S*|id_rsa|prompt\W+syst[eè]me)\b"""
        ),
        hints=("envo", "transmet", "post", "verse", "partag", "donne", "montre", "v", "copi"),
    ),
    Rule(
        "addresses_agent",
        rx(
            r"""\bsi\W+(?:tu\W+es|vous\W+[eê]tes)\W+(?:une?|l')\W*(?:ia|intelligence\W+
            artificielle|assistant|agent|mod[eè]le)\b|\b(?:attention|note|avis|message)\W+
            (?:[aà]|pour)\W+(?:l'|la\W+|les\W+|tout\W+|toute\W+)?\W*(?:ia|assistants?|agents?\W+
            ia|mod[eè]les?)\b"""
        ),
        hints=("si ", "attention", "note", "avis", "message"),
    ),
    # ---- German
    Rule(
        "override",
        rx(
            r"""\b(?:ignoriere|ignorier|ignorieren\W+sie|vergiss|vergessen\W+sie|missachte|
            missachten\W+sie|verwirf|setze\W+\w+\W+au[ßs]er\W+kraft)\b\W+(?:\w+\W+){0,3}?
            (?:anweisungen|instruktionen|befehle|regeln|vorgaben|richtlinien|prompt|
            systemprompt|anordnungen)\b|\b(?:anweisungen|instruktionen|regeln)\W+
            (?:\w+\W+){0,3}?(?:ignorieren|vergessen|missachten)\b"""
        ),
        hints=("ignor", "vergiss", "vergessen", "missacht", "verwirf", "kraft"),
    ),
    Rule(
        "role_takeover",
        rx(
            r"""\b(?:du\W+bist|sie\W+sind)\W+(?:ab\W+)?(?:jetzt|nun|ab\W+sofort|von\W+nun\W+an)
            \W+(?:ein|eine|der|die|das|kein|keine|im|in|frei|nicht\W+mehr)\b|
            \b(?:ab\W+jetzt|ab\W+sofort|von\W+nun\W+an)\W+(?:bist\W+du|sind\W+sie|wirst\W+du|
            musst\W+du|antwortest\W+du)\b|\b(?:deine|ihre)\W+neuen\W+(?:anweisungen|
            instruktionen|regeln)\b|\b(?:entwicklermodus|developer\W+modus)\b"""
        ),
        hints=("du ", "sie ", "jetzt", "sofort", "nun", "neuen", "modus"),
    ),
    Rule(
        "exfiltration",
        rx(
            r"""\b(?:sende|schicke|schick|senden\W+sie|schicken\W+sie|[uü]bermittle|
            lade|poste|teile|gib\W+mir|zeige\W+mir|zeig\W+mir|verrate)\b\W+
            (?:\w+\W+){0,3}?(?:api-?schl[uü]ssel|schl[uü]ssel|tokens?|zugangsdaten|
            passw[oö]rter|passwort|kennw[oö]rter|geheimnisse|umgebungsvariablen|\.env|
            \.ssh\S*|id_rsa|systemprompt|system-prompt)\b"""
        ),
        hints=(
            "send",
            "schick",
            "bermittl",
            "lade",
            "post",
            "teile",
            "gib",
            "zeig",
            "verrat",
            "kopier",
        ),
    ),
    Rule(
        "addresses_agent",
        rx(
            r"""\bwenn\W+du\W+(?:eine?|der|die)\W+(?:ki|k\.i\.|assistent|agent|ki-agent|
            sprachmodell|modell)\W+bist\b|\b(?:achtung|hinweis|nachricht|an)\W+(?:an\W+)?
            (?:alle\W+|jede\W+|die\W+|den\W+)?(?:ki|ki-agenten|ki-assistenten|sprachmodelle)\b"""
        ),
        hints=("wenn", "achtung", "hinweis", "nachricht", "ki"),
    ),
    # ---- Portuguese and Italian
    Rule(
        "override",
        rx(
            r"""\b(?:ignore|ignora|ignorem|esque[çc]a|esque[çc]am|desconsidere|dimentica|
            dimenticate|trascura)\b\W+(?:\w+\W+){0,3}?(?:instru[çc][õo]es|instruzioni|
            regras|regole|ordens|diretrizes|istruzioni)\b"""
        ),
        hints=("ignor", "esque", "desconsider", "dimentic", "trascur"),
    ),
    Rule(
        "role_takeover",
        rx(
            r"""\b(?:agora|a\W+partir\W+de\W+agora)\W+(?:voc[eê]\W+[eé]|tu\W+[eé]s)\b|
            \b(?:ora|adesso|da\W+ora\W+in\W+poi)\W+(?:tu\W+)?sei\b"""
        ),
        hints=("agora", "ora", "adesso"),
    ),
    # ---- Russian
    Rule(
        "override",
        rx(
            r"""(?:игнорируй|игнорируйте|проигнорируй|проигнорируйте|забудь|забудьте|
            не\W+обращай\W+внимания\W+на|не\W+обращайте\W+внимания\W+на|отбрось|отбросьте|
            пренебреги|отмени|отмените|не\W+следуй|не\W+следуйте)\W+(?:\w+\W+){0,3}?
            (?:инструкци\w*|указани\w*|правил\w*|команд\w*|промпт\w*|директив\w*|
            ограничени\w*)"""
        ),
        hints=("игнор", "забуд", "обраща", "отброс", "пренебр", "отмен", "следу"),
    ),
    Rule(
        "role_takeover",
        rx(
            r"""(?:теперь|отныне|с\W+этого\W+момента|начиная\W+с\W+этого\W+момента)\W*,?\W*
            (?:ты|вы)\W+(?:\w+\W+){0,1}?(?:являешься|являетесь|будешь|будете|\w+\W+без\W+
            ограничений|ии|ассистент|бот|модель|должен|должны|обязан|dan)|
            (?:ты|вы)\W+теперь\b|твои\W+новые\W+инструкции|режим\W+разработчика"""
        ),
        hints=("теперь", "отныне", "момента", "новые", "режим"),
    ),
    Rule(
        "exfiltration",
        rx(
            r"""(?:отправь|отправьте|пришли|пришлите|перешли|перешлите|загрузи|загрузите|
            опубликуй|передай|передайте|покажи|покажите|выведи|выведите|сообщи|сообщите|
            раскрой|раскройте)\W+(?:\w+\W+){0,3}?(?:ключ\w*|api\W*ключ\w*|
            токен\w*|парол\w*|учётн\w*|учетн\w*|секрет\w*|переменн\w+\W+окружени\w*|
            \.env|\.ssh\S*|id_rsa|системн\w+\W+промпт\w*)"""
        ),
        hints=(
            "отправ",
            "пришл",
            "пересл",
            "загруз",
            "опублик",
            "переда",
            "покаж",
            "вывед",
            "сообщ",
            "скопир",
            "раскр",
        ),
    ),
    Rule(
        "addresses_agent",
        rx(
            r"""(?:если\W+ты|если\W+вы)\W+(?:—\W+|-\W+)?(?:ии|искусственный\W+интеллект|
            ассистент|агент|языковая\W+модель|модель|бот)\b|(?:внимание|примечание|
            сообщение)\W+(?:для\W+)?(?:всех\W+)?(?:ии|ии-агентов|ассистентов|языковых\W+
            моделей)"""
        ),
        hints=("если", "внимание", "примечание", "сообщение"),
    ),
    # ---- Chinese (no spaces between words: short windows of any character)
    Rule(
        "override",
        rx(
            r"""(?:忽略|忽视|无视|忘记|忘掉|不要理会|不要遵守|不要遵循|别管|放弃|覆盖|绕过)
            [^。！？\n]{0,12}?(?:指令|指示|说明|提示词?|规则|设定|要求|命令|约束|限制|system\s*prompt)"""
        ),
        hints=("忽", "无视", "忘", "不要", "别管", "放弃", "覆盖", "绕过"),
    ),
    Rule(
        "role_takeover",
        rx(
            r"""(?:你现在是|你现在扮演|现在你是|从现在(?:开始|起)[，,]?\s*你|你的新(?:指令|任务|角色|设定)|
            扮演一个(?:没有|不受)|开发者模式|越狱模式|无限制模式)"""
        ),
        hints=("你", "模式", "扮演"),
    ),
    Rule(
        "exfiltration",
        rx(
            r"""(?:发送|发给|发到|上传|传到|转发|泄露|告诉我|给我|显示|输出|打印)
            [^。！？\n]{0,16}?(?:密钥|秘钥|api\s*key|令牌|token|凭证|凭据|密码|环境变量|
            \.env|\.ssh|id_rsa|系统提示词?|私钥)|(?:把|将)[^。！？\n]{0,12}?(?:密钥|秘钥|令牌|
            凭证|凭据|密码|环境变量|\.env|\.ssh|id_rsa|私钥|系统提示)[^。！？\n]{0,20}?
            (?:发送|发给|发到|上传|传到|转发|告诉我|告诉我们)"""
        ),
        hints=(
            "发",
            "上传",
            "传到",
            "提交",
            "泄露",
            "告诉",
            "给我",
            "显示",
            "输出",
            "打印",
            "复制",
            "粘贴",
            "把",
            "将",
        ),
    ),
    Rule(
        "addresses_agent",
        rx(
            r"""(?:如果你是|假如你是|若你是)[^。！？\n]{0,6}?(?:ai|人工智能|助手|智能体|代理|
            语言模型|大模型|模型)|(?:致|给|注意)[^。！？\n]{0,4}?(?:所有|任何)?(?:ai|人工智能|
            ai助手|智能体|语言模型|大模型)"""
        ),
        hints=("你是", "致", "给", "注意"),
    ),
    # ---- Japanese
    Rule(
        "override",
        rx(
            r"""(?:以前|これまで|上記|前|先)の[^。！？\n]{0,8}?(?:指示|命令|ルール|設定|
            プロンプト)[^。！？\n]{0,6}?(?:無視|忘れ)"""
        ),
        hints=("無視", "忘れ"),
    ),
    Rule(
        "role_takeover",
        rx(r"""(?:あなたは今|今からあなたは|これからあなたは|開発者モード)"""),
        hints=("あなた", "モード"),
    ),
    Rule(
        "exfiltration",
        rx(
            r"""(?:apiキー|apikey|api\s*key|トークン|認証情報|パスワード|秘密鍵|環境変数|
            \.env|\.ssh|id_rsa|システムプロンプト)[^。！？\n]{0,20}?(?:送信|送って|送れ|
            アップロード|投稿|教えて|表示して|出力して|貼り付け)"""
        ),
        hints=("送", "アップロード", "投稿", "教えて", "表示", "出力", "貼り付け"),
    ),
)
