/* SPDX-License-Identifier: Apache-2.0 */
/* Calls an outlined parallel region (a microtask) with its captured
 * arguments. A microtask has a fixed arity (two thread-number pointers
 * and argc pointer-sized arguments), and wasm call_indirect checks the
 * signature, so each arity is called through a pointer of its own type.
 * P<n> is a list of n parameter types, A<n> of the n arguments. */
#include "omp_int.h"

#define OMP_MAX_MICROTASK_ARGS 255
#define P1 void*
#define A1 a[0]
#define P2 P1, void*
#define A2 A1, a[1]
#define P3 P2, void*
#define A3 A2, a[2]
#define P4 P3, void*
#define A4 A3, a[3]
#define P5 P4, void*
#define A5 A4, a[4]
#define P6 P5, void*
#define A6 A5, a[5]
#define P7 P6, void*
#define A7 A6, a[6]
#define P8 P7, void*
#define A8 A7, a[7]
#define P9 P8, void*
#define A9 A8, a[8]
#define P10 P9, void*
#define A10 A9, a[9]
#define P11 P10, void*
#define A11 A10, a[10]
#define P12 P11, void*
#define A12 A11, a[11]
#define P13 P12, void*
#define A13 A12, a[12]
#define P14 P13, void*
#define A14 A13, a[13]
#define P15 P14, void*
#define A15 A14, a[14]
#define P16 P15, void*
#define A16 A15, a[15]
#define P17 P16, void*
#define A17 A16, a[16]
#define P18 P17, void*
#define A18 A17, a[17]
#define P19 P18, void*
#define A19 A18, a[18]
#define P20 P19, void*
#define A20 A19, a[19]
#define P21 P20, void*
#define A21 A20, a[20]
#define P22 P21, void*
#define A22 A21, a[21]
#define P23 P22, void*
#define A23 A22, a[22]
#define P24 P23, void*
#define A24 A23, a[23]
#define P25 P24, void*
#define A25 A24, a[24]
#define P26 P25, void*
#define A26 A25, a[25]
#define P27 P26, void*
#define A27 A26, a[26]
#define P28 P27, void*
#define A28 A27, a[27]
#define P29 P28, void*
#define A29 A28, a[28]
#define P30 P29, void*
#define A30 A29, a[29]
#define P31 P30, void*
#define A31 A30, a[30]
#define P32 P31, void*
#define A32 A31, a[31]
#define P33 P32, void*
#define A33 A32, a[32]
#define P34 P33, void*
#define A34 A33, a[33]
#define P35 P34, void*
#define A35 A34, a[34]
#define P36 P35, void*
#define A36 A35, a[35]
#define P37 P36, void*
#define A37 A36, a[36]
#define P38 P37, void*
#define A38 A37, a[37]
#define P39 P38, void*
#define A39 A38, a[38]
#define P40 P39, void*
#define A40 A39, a[39]
#define P41 P40, void*
#define A41 A40, a[40]
#define P42 P41, void*
#define A42 A41, a[41]
#define P43 P42, void*
#define A43 A42, a[42]
#define P44 P43, void*
#define A44 A43, a[43]
#define P45 P44, void*
#define A45 A44, a[44]
#define P46 P45, void*
#define A46 A45, a[45]
#define P47 P46, void*
#define A47 A46, a[46]
#define P48 P47, void*
#define A48 A47, a[47]
#define P49 P48, void*
#define A49 A48, a[48]
#define P50 P49, void*
#define A50 A49, a[49]
#define P51 P50, void*
#define A51 A50, a[50]
#define P52 P51, void*
#define A52 A51, a[51]
#define P53 P52, void*
#define A53 A52, a[52]
#define P54 P53, void*
#define A54 A53, a[53]
#define P55 P54, void*
#define A55 A54, a[54]
#define P56 P55, void*
#define A56 A55, a[55]
#define P57 P56, void*
#define A57 A56, a[56]
#define P58 P57, void*
#define A58 A57, a[57]
#define P59 P58, void*
#define A59 A58, a[58]
#define P60 P59, void*
#define A60 A59, a[59]
#define P61 P60, void*
#define A61 A60, a[60]
#define P62 P61, void*
#define A62 A61, a[61]
#define P63 P62, void*
#define A63 A62, a[62]
#define P64 P63, void*
#define A64 A63, a[63]
#define P65 P64, void*
#define A65 A64, a[64]
#define P66 P65, void*
#define A66 A65, a[65]
#define P67 P66, void*
#define A67 A66, a[66]
#define P68 P67, void*
#define A68 A67, a[67]
#define P69 P68, void*
#define A69 A68, a[68]
#define P70 P69, void*
#define A70 A69, a[69]
#define P71 P70, void*
#define A71 A70, a[70]
#define P72 P71, void*
#define A72 A71, a[71]
#define P73 P72, void*
#define A73 A72, a[72]
#define P74 P73, void*
#define A74 A73, a[73]
#define P75 P74, void*
#define A75 A74, a[74]
#define P76 P75, void*
#define A76 A75, a[75]
#define P77 P76, void*
#define A77 A76, a[76]
#define P78 P77, void*
#define A78 A77, a[77]
#define P79 P78, void*
#define A79 A78, a[78]
#define P80 P79, void*
#define A80 A79, a[79]
#define P81 P80, void*
#define A81 A80, a[80]
#define P82 P81, void*
#define A82 A81, a[81]
#define P83 P82, void*
#define A83 A82, a[82]
#define P84 P83, void*
#define A84 A83, a[83]
#define P85 P84, void*
#define A85 A84, a[84]
#define P86 P85, void*
#define A86 A85, a[85]
#define P87 P86, void*
#define A87 A86, a[86]
#define P88 P87, void*
#define A88 A87, a[87]
#define P89 P88, void*
#define A89 A88, a[88]
#define P90 P89, void*
#define A90 A89, a[89]
#define P91 P90, void*
#define A91 A90, a[90]
#define P92 P91, void*
#define A92 A91, a[91]
#define P93 P92, void*
#define A93 A92, a[92]
#define P94 P93, void*
#define A94 A93, a[93]
#define P95 P94, void*
#define A95 A94, a[94]
#define P96 P95, void*
#define A96 A95, a[95]
#define P97 P96, void*
#define A97 A96, a[96]
#define P98 P97, void*
#define A98 A97, a[97]
#define P99 P98, void*
#define A99 A98, a[98]
#define P100 P99, void*
#define A100 A99, a[99]
#define P101 P100, void*
#define A101 A100, a[100]
#define P102 P101, void*
#define A102 A101, a[101]
#define P103 P102, void*
#define A103 A102, a[102]
#define P104 P103, void*
#define A104 A103, a[103]
#define P105 P104, void*
#define A105 A104, a[104]
#define P106 P105, void*
#define A106 A105, a[105]
#define P107 P106, void*
#define A107 A106, a[106]
#define P108 P107, void*
#define A108 A107, a[107]
#define P109 P108, void*
#define A109 A108, a[108]
#define P110 P109, void*
#define A110 A109, a[109]
#define P111 P110, void*
#define A111 A110, a[110]
#define P112 P111, void*
#define A112 A111, a[111]
#define P113 P112, void*
#define A113 A112, a[112]
#define P114 P113, void*
#define A114 A113, a[113]
#define P115 P114, void*
#define A115 A114, a[114]
#define P116 P115, void*
#define A116 A115, a[115]
#define P117 P116, void*
#define A117 A116, a[116]
#define P118 P117, void*
#define A118 A117, a[117]
#define P119 P118, void*
#define A119 A118, a[118]
#define P120 P119, void*
#define A120 A119, a[119]
#define P121 P120, void*
#define A121 A120, a[120]
#define P122 P121, void*
#define A122 A121, a[121]
#define P123 P122, void*
#define A123 A122, a[122]
#define P124 P123, void*
#define A124 A123, a[123]
#define P125 P124, void*
#define A125 A124, a[124]
#define P126 P125, void*
#define A126 A125, a[125]
#define P127 P126, void*
#define A127 A126, a[126]
#define P128 P127, void*
#define A128 A127, a[127]
#define P129 P128, void*
#define A129 A128, a[128]
#define P130 P129, void*
#define A130 A129, a[129]
#define P131 P130, void*
#define A131 A130, a[130]
#define P132 P131, void*
#define A132 A131, a[131]
#define P133 P132, void*
#define A133 A132, a[132]
#define P134 P133, void*
#define A134 A133, a[133]
#define P135 P134, void*
#define A135 A134, a[134]
#define P136 P135, void*
#define A136 A135, a[135]
#define P137 P136, void*
#define A137 A136, a[136]
#define P138 P137, void*
#define A138 A137, a[137]
#define P139 P138, void*
#define A139 A138, a[138]
#define P140 P139, void*
#define A140 A139, a[139]
#define P141 P140, void*
#define A141 A140, a[140]
#define P142 P141, void*
#define A142 A141, a[141]
#define P143 P142, void*
#define A143 A142, a[142]
#define P144 P143, void*
#define A144 A143, a[143]
#define P145 P144, void*
#define A145 A144, a[144]
#define P146 P145, void*
#define A146 A145, a[145]
#define P147 P146, void*
#define A147 A146, a[146]
#define P148 P147, void*
#define A148 A147, a[147]
#define P149 P148, void*
#define A149 A148, a[148]
#define P150 P149, void*
#define A150 A149, a[149]
#define P151 P150, void*
#define A151 A150, a[150]
#define P152 P151, void*
#define A152 A151, a[151]
#define P153 P152, void*
#define A153 A152, a[152]
#define P154 P153, void*
#define A154 A153, a[153]
#define P155 P154, void*
#define A155 A154, a[154]
#define P156 P155, void*
#define A156 A155, a[155]
#define P157 P156, void*
#define A157 A156, a[156]
#define P158 P157, void*
#define A158 A157, a[157]
#define P159 P158, void*
#define A159 A158, a[158]
#define P160 P159, void*
#define A160 A159, a[159]
#define P161 P160, void*
#define A161 A160, a[160]
#define P162 P161, void*
#define A162 A161, a[161]
#define P163 P162, void*
#define A163 A162, a[162]
#define P164 P163, void*
#define A164 A163, a[163]
#define P165 P164, void*
#define A165 A164, a[164]
#define P166 P165, void*
#define A166 A165, a[165]
#define P167 P166, void*
#define A167 A166, a[166]
#define P168 P167, void*
#define A168 A167, a[167]
#define P169 P168, void*
#define A169 A168, a[168]
#define P170 P169, void*
#define A170 A169, a[169]
#define P171 P170, void*
#define A171 A170, a[170]
#define P172 P171, void*
#define A172 A171, a[171]
#define P173 P172, void*
#define A173 A172, a[172]
#define P174 P173, void*
#define A174 A173, a[173]
#define P175 P174, void*
#define A175 A174, a[174]
#define P176 P175, void*
#define A176 A175, a[175]
#define P177 P176, void*
#define A177 A176, a[176]
#define P178 P177, void*
#define A178 A177, a[177]
#define P179 P178, void*
#define A179 A178, a[178]
#define P180 P179, void*
#define A180 A179, a[179]
#define P181 P180, void*
#define A181 A180, a[180]
#define P182 P181, void*
#define A182 A181, a[181]
#define P183 P182, void*
#define A183 A182, a[182]
#define P184 P183, void*
#define A184 A183, a[183]
#define P185 P184, void*
#define A185 A184, a[184]
#define P186 P185, void*
#define A186 A185, a[185]
#define P187 P186, void*
#define A187 A186, a[186]
#define P188 P187, void*
#define A188 A187, a[187]
#define P189 P188, void*
#define A189 A188, a[188]
#define P190 P189, void*
#define A190 A189, a[189]
#define P191 P190, void*
#define A191 A190, a[190]
#define P192 P191, void*
#define A192 A191, a[191]
#define P193 P192, void*
#define A193 A192, a[192]
#define P194 P193, void*
#define A194 A193, a[193]
#define P195 P194, void*
#define A195 A194, a[194]
#define P196 P195, void*
#define A196 A195, a[195]
#define P197 P196, void*
#define A197 A196, a[196]
#define P198 P197, void*
#define A198 A197, a[197]
#define P199 P198, void*
#define A199 A198, a[198]
#define P200 P199, void*
#define A200 A199, a[199]
#define P201 P200, void*
#define A201 A200, a[200]
#define P202 P201, void*
#define A202 A201, a[201]
#define P203 P202, void*
#define A203 A202, a[202]
#define P204 P203, void*
#define A204 A203, a[203]
#define P205 P204, void*
#define A205 A204, a[204]
#define P206 P205, void*
#define A206 A205, a[205]
#define P207 P206, void*
#define A207 A206, a[206]
#define P208 P207, void*
#define A208 A207, a[207]
#define P209 P208, void*
#define A209 A208, a[208]
#define P210 P209, void*
#define A210 A209, a[209]
#define P211 P210, void*
#define A211 A210, a[210]
#define P212 P211, void*
#define A212 A211, a[211]
#define P213 P212, void*
#define A213 A212, a[212]
#define P214 P213, void*
#define A214 A213, a[213]
#define P215 P214, void*
#define A215 A214, a[214]
#define P216 P215, void*
#define A216 A215, a[215]
#define P217 P216, void*
#define A217 A216, a[216]
#define P218 P217, void*
#define A218 A217, a[217]
#define P219 P218, void*
#define A219 A218, a[218]
#define P220 P219, void*
#define A220 A219, a[219]
#define P221 P220, void*
#define A221 A220, a[220]
#define P222 P221, void*
#define A222 A221, a[221]
#define P223 P222, void*
#define A223 A222, a[222]
#define P224 P223, void*
#define A224 A223, a[223]
#define P225 P224, void*
#define A225 A224, a[224]
#define P226 P225, void*
#define A226 A225, a[225]
#define P227 P226, void*
#define A227 A226, a[226]
#define P228 P227, void*
#define A228 A227, a[227]
#define P229 P228, void*
#define A229 A228, a[228]
#define P230 P229, void*
#define A230 A229, a[229]
#define P231 P230, void*
#define A231 A230, a[230]
#define P232 P231, void*
#define A232 A231, a[231]
#define P233 P232, void*
#define A233 A232, a[232]
#define P234 P233, void*
#define A234 A233, a[233]
#define P235 P234, void*
#define A235 A234, a[234]
#define P236 P235, void*
#define A236 A235, a[235]
#define P237 P236, void*
#define A237 A236, a[236]
#define P238 P237, void*
#define A238 A237, a[237]
#define P239 P238, void*
#define A239 A238, a[238]
#define P240 P239, void*
#define A240 A239, a[239]
#define P241 P240, void*
#define A241 A240, a[240]
#define P242 P241, void*
#define A242 A241, a[241]
#define P243 P242, void*
#define A243 A242, a[242]
#define P244 P243, void*
#define A244 A243, a[243]
#define P245 P244, void*
#define A245 A244, a[244]
#define P246 P245, void*
#define A246 A245, a[245]
#define P247 P246, void*
#define A247 A246, a[246]
#define P248 P247, void*
#define A248 A247, a[247]
#define P249 P248, void*
#define A249 A248, a[248]
#define P250 P249, void*
#define A250 A249, a[249]
#define P251 P250, void*
#define A251 A250, a[250]
#define P252 P251, void*
#define A252 A251, a[251]
#define P253 P252, void*
#define A253 A252, a[252]
#define P254 P253, void*
#define A254 A253, a[253]
#define P255 P254, void*
#define A255 A254, a[254]
#define CALL(n)                                                                \
    case n:                                                                    \
        ((void (*)(int32_t*, int32_t*, P##n))fn)(gtid, tid, A##n);             \
        break;

void
omp__invoke(kmpc_micro fn, int32_t* gtid, int32_t* tid, int argc, void** a)
{
    switch (argc) {
        case 0:
            ((void (*)(int32_t*, int32_t*))fn)(gtid, tid);
            break;
            CALL(1)
            CALL(2)
            CALL(3)
            CALL(4)
            CALL(5)
            CALL(6)
            CALL(7)
            CALL(8)
            CALL(9)
            CALL(10)
            CALL(11)
            CALL(12)
            CALL(13)
            CALL(14)
            CALL(15)
            CALL(16)
            CALL(17)
            CALL(18)
            CALL(19)
            CALL(20)
            CALL(21)
            CALL(22)
            CALL(23)
            CALL(24)
            CALL(25)
            CALL(26)
            CALL(27)
            CALL(28)
            CALL(29)
            CALL(30)
            CALL(31)
            CALL(32)
            CALL(33)
            CALL(34)
            CALL(35)
            CALL(36)
            CALL(37)
            CALL(38)
            CALL(39)
            CALL(40)
            CALL(41)
            CALL(42)
            CALL(43)
            CALL(44)
            CALL(45)
            CALL(46)
            CALL(47)
            CALL(48)
            CALL(49)
            CALL(50)
            CALL(51)
            CALL(52)
            CALL(53)
            CALL(54)
            CALL(55)
            CALL(56)
            CALL(57)
            CALL(58)
            CALL(59)
            CALL(60)
            CALL(61)
            CALL(62)
            CALL(63)
            CALL(64)
            CALL(65)
            CALL(66)
            CALL(67)
            CALL(68)
            CALL(69)
            CALL(70)
            CALL(71)
            CALL(72)
            CALL(73)
            CALL(74)
            CALL(75)
            CALL(76)
            CALL(77)
            CALL(78)
            CALL(79)
            CALL(80)
            CALL(81)
            CALL(82)
            CALL(83)
            CALL(84)
            CALL(85)
            CALL(86)
            CALL(87)
            CALL(88)
            CALL(89)
            CALL(90)
            CALL(91)
            CALL(92)
            CALL(93)
            CALL(94)
            CALL(95)
            CALL(96)
            CALL(97)
            CALL(98)
            CALL(99)
            CALL(100)
            CALL(101)
            CALL(102)
            CALL(103)
            CALL(104)
            CALL(105)
            CALL(106)
            CALL(107)
            CALL(108)
            CALL(109)
            CALL(110)
            CALL(111)
            CALL(112)
            CALL(113)
            CALL(114)
            CALL(115)
            CALL(116)
            CALL(117)
            CALL(118)
            CALL(119)
            CALL(120)
            CALL(121)
            CALL(122)
            CALL(123)
            CALL(124)
            CALL(125)
            CALL(126)
            CALL(127)
            CALL(128)
            CALL(129)
            CALL(130)
            CALL(131)
            CALL(132)
            CALL(133)
            CALL(134)
            CALL(135)
            CALL(136)
            CALL(137)
            CALL(138)
            CALL(139)
            CALL(140)
            CALL(141)
            CALL(142)
            CALL(143)
            CALL(144)
            CALL(145)
            CALL(146)
            CALL(147)
            CALL(148)
            CALL(149)
            CALL(150)
            CALL(151)
            CALL(152)
            CALL(153)
            CALL(154)
            CALL(155)
            CALL(156)
            CALL(157)
            CALL(158)
            CALL(159)
            CALL(160)
            CALL(161)
            CALL(162)
            CALL(163)
            CALL(164)
            CALL(165)
            CALL(166)
            CALL(167)
            CALL(168)
            CALL(169)
            CALL(170)
            CALL(171)
            CALL(172)
            CALL(173)
            CALL(174)
            CALL(175)
            CALL(176)
            CALL(177)
            CALL(178)
            CALL(179)
            CALL(180)
            CALL(181)
            CALL(182)
            CALL(183)
            CALL(184)
            CALL(185)
            CALL(186)
            CALL(187)
            CALL(188)
            CALL(189)
            CALL(190)
            CALL(191)
            CALL(192)
            CALL(193)
            CALL(194)
            CALL(195)
            CALL(196)
            CALL(197)
            CALL(198)
            CALL(199)
            CALL(200)
            CALL(201)
            CALL(202)
            CALL(203)
            CALL(204)
            CALL(205)
            CALL(206)
            CALL(207)
            CALL(208)
            CALL(209)
            CALL(210)
            CALL(211)
            CALL(212)
            CALL(213)
            CALL(214)
            CALL(215)
            CALL(216)
            CALL(217)
            CALL(218)
            CALL(219)
            CALL(220)
            CALL(221)
            CALL(222)
            CALL(223)
            CALL(224)
            CALL(225)
            CALL(226)
            CALL(227)
            CALL(228)
            CALL(229)
            CALL(230)
            CALL(231)
            CALL(232)
            CALL(233)
            CALL(234)
            CALL(235)
            CALL(236)
            CALL(237)
            CALL(238)
            CALL(239)
            CALL(240)
            CALL(241)
            CALL(242)
            CALL(243)
            CALL(244)
            CALL(245)
            CALL(246)
            CALL(247)
            CALL(248)
            CALL(249)
            CALL(250)
            CALL(251)
            CALL(252)
            CALL(253)
            CALL(254)
            CALL(255)
        default:
            omp__fatal("a parallel region with %d captured variables (at most "
                       "%d are supported)",
                       argc,
                       OMP_MAX_MICROTASK_ARGS);
    }
}
